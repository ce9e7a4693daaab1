import { describe, expect, it } from "vitest";
import { openDeliveryRun } from "../../../lib/delivery/deliver.js";
import { buildEvent, deliveriesFor } from "../../../lib/events.js";
import { Emitter } from "../../../lib/run/emitter.js";
import type { TaskRow, WebhookRow } from "../../../lib/store/store.js";
import { createWebhook } from "../../../lib/webhooks.js";
import { webhookRow } from "../../support/rows.js";
import { phases } from "./support.js";

const webhook = (id: string, over: Partial<WebhookRow> = {}): WebhookRow =>
  webhookRow(id, { url: `http://127.0.0.1:9/${id}`, ...over });

describe("deliveriesFor", () => {
  const task = { workspaceId: "llm-a", taskId: "t1", webhookUrls: ["http://127.0.0.1:9/task"] } as unknown as TaskRow;
  const times = { nowMs: 1_000, firstAttemptAtMs: 1_000 };

  it("gives a terminal event one delivery per wanting webhook and per task URL, with ids from (event, target)", () => {
    const event = buildEvent({ type: "video_analysis.succeeded", task, nowMs: 1_000 });
    const rows = deliveriesFor(
      event,
      [
        webhook("wh_all"),
        webhook("wh_off", { enabled: false }),
        webhook("wh_other_ws", { workspaceId: "llm-b" }),
        webhook("wh_running_only", { events: ["video_analysis.running"] }),
      ],
      task,
      times,
    );
    expect(rows.map((r) => r.webhookId)).toEqual(["wh_all", expect.stringMatching(/^task:/)]);
    expect(new Set(rows.map((r) => r.id)).size).toBe(2);
    expect(deliveriesFor(event, [webhook("wh_all")], task, times)[0]?.id).toBe(rows[0]?.id);
  });

  it("sends a running event only to webhooks that asked for it, never to task URLs", () => {
    const event = buildEvent({ type: "video_analysis.running", task, nowMs: 1_000 });
    const rows = deliveriesFor(
      event,
      [webhook("wh_all"), webhook("wh_running", { events: ["video_analysis.running"] })],
      task,
      times,
    );
    expect(rows.map((r) => r.webhookId)).toEqual(["wh_running"]);
  });
});

describe("the emitter", () => {
  it("writes an event and its deliveries once, however often it is asked, and says when the first is due", async () => {
    const p = phases();
    const deps = { store: p.store, clock: p.clock, allowPrivateTargets: true };
    await createWebhook(deps, { url: "http://127.0.0.1:9/hook" });
    const { task } = await p.register("llm-a", "t1", { webhooks: ["http://127.0.0.1:9/task"] });
    const told: number[] = [];
    const run = openDeliveryRun({ ...p.deps, config: p.config.delivery, owner: "test-run" });
    const emitter = new Emitter(p.run, run, { noteNew: (at) => told.push(at) });
    await emitter.emit(task, "video_analysis.succeeded", { taskStatus: "SUCCESSED", raw: { taskStatus: "SUCCESSED" } });
    await emitter.emit(task, "video_analysis.succeeded", { taskStatus: "SUCCESSED", raw: { taskStatus: "SUCCESSED" } });
    expect(p.run.summary.events).toBe(1);
    const events = await p.store.listEventsForTask("llm-a", "t1");
    expect(events).toHaveLength(1);
    const deliveries = await p.store.listDeliveries({ eventId: events[0]?.id as string, limit: 10 });
    expect(deliveries.items).toHaveLength(2);
    // The default schedule's first attempt is immediate.
    expect(told).toEqual([p.clock.now(), p.clock.now()]);
    expect(JSON.parse(events[0]?.body as string).data.task).toEqual({ taskStatus: "SUCCESSED" });
  });

  it("writes no deliveries (and tells no one) when nothing wants the event", async () => {
    const p = phases();
    const { task } = await p.register("llm-a", "t1");
    const told: number[] = [];
    const emitter = new Emitter(p.run, openDeliveryRun({ ...p.deps, config: p.config.delivery, owner: "x" }), {
      noteNew: (at) => told.push(at),
    });
    await emitter.emit(task, "video_analysis.running", { taskStatus: "RUNNING" });
    expect(p.run.summary.events).toBe(1);
    expect(told).toEqual([]);
  });
});
