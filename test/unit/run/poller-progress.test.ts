import { describe, expect, it } from "vitest";
import { eventId } from "../../../lib/ids.js";
import type { JsonObject } from "../../../lib/quanmiao/task.js";
import type { TaskRow } from "../../../lib/store/store.js";
import { webhookRow } from "../../support/rows.js";
import { pollerParts } from "./poller-parts.js";
import { type Answer, phases } from "./support.js";

const PROGRESS = "video_analysis.progress";
const done = (text: string) => ({ generateFinished: true, text });
const running = (output: JsonObject): JsonObject => ({ taskStatus: "RUNNING", payload: { output } });

async function setup(options: { subscribed?: boolean } = {}) {
  const answers: Record<string, Answer> = {};
  const p = phases({ answers });
  await p.store.createWebhook(webhookRow("wh_terminal", { url: "http://127.0.0.1:9/terminal" }));
  if (options.subscribed !== false) {
    await p.store.createWebhook(
      webhookRow("wh_progress", { url: "http://127.0.0.1:9/progress", events: [PROGRESS, "video_analysis.succeeded"] }),
    );
  }
  const parts = pollerParts(p);
  let writes = 0;
  const create = p.store.createEventWithDeliveries.bind(p.store);
  p.store.createEventWithDeliveries = (row, deliveries) => {
    writes++;
    return create(row, deliveries);
  };
  await p.register("llm-a", "t1");
  /** Polls t1 with `answer` once, as a run claiming it would. */
  const poll = async (answer: JsonObject) => {
    answers.t1 = answer;
    const task = (await parts.claim()) as TaskRow;
    expect(task?.taskId).toBe("t1");
    await parts.poller.poll(task, parts.planner.tierOf(task));
    p.clock.set((await p.store.getTask("llm-a", "t1"))?.nextPollAtMs as number);
  };
  const progress = async () =>
    (await p.store.listEventsForTask("llm-a", "t1"))
      .filter((e) => e.type === PROGRESS)
      .map((e) => JSON.parse(e.body).data as { part: string; result: JsonObject; taskStatus: string })
      .sort((a, b) => a.part.localeCompare(b.part));
  const deliveries = async () =>
    (await p.store.listDeliveries({ eventType: PROGRESS, limit: 100 })).items.map((d) => d.webhookId);
  return { ...p, ...parts, poll, progress, deliveries, writes: () => writes };
}

describe("progress events", () => {
  it("reports each part newly finished while running, once, to the webhooks that list the type", async () => {
    const p = await setup();
    await p.poll(running({ videoCaptionResult: done("caption"), videoAnalysisResult: { generateFinished: false } }));
    expect(await p.progress()).toEqual([
      {
        workspaceId: "llm-a",
        taskId: "t1",
        taskStatus: "RUNNING",
        metadata: {},
        part: "videoCaptionResult",
        result: done("caption"),
      },
    ]);
    expect(await p.deliveries()).toEqual(["wh_progress"]);
    expect((await p.store.getTask("llm-a", "t1"))?.progressParts).toEqual(["videoCaptionResult"]);

    // The same parts again: no write at all (the running event was the first poll's other write).
    const before = p.writes();
    await p.poll(running({ videoCaptionResult: done("caption"), videoAnalysisResult: { generateFinished: false } }));
    expect(p.writes()).toBe(before);

    await p.poll(
      running({
        videoCaptionResult: done("caption"),
        videoAnalysisResult: done("analysis"),
        videoGenerateResults: [done("one"), { generateFinished: false, index: 2 }],
      }),
    );
    expect((await p.progress()).map((d) => d.part)).toEqual([
      "videoAnalysisResult",
      "videoCaptionResult",
      "videoGenerateResults[1]",
    ]);
    expect(p.writes()).toBe(before + 2);
    expect(await p.deliveries()).toEqual(["wh_progress", "wh_progress", "wh_progress"]);
  });

  it("reports none for parts first seen finished in the final answer: the terminal event carries them", async () => {
    const p = await setup();
    await p.poll(running({ videoCaptionResult: done("caption") }));
    await p.poll({
      taskStatus: "SUCCESSED",
      payload: { output: { videoCaptionResult: done("caption"), videoTitleGenerateResult: done("title") } },
    });
    expect((await p.progress()).map((d) => d.part)).toEqual(["videoCaptionResult"]);
    const types = (await p.store.listEventsForTask("llm-a", "t1")).map((e) => e.type);
    expect(types).toContain("video_analysis.succeeded");
  });

  it("stores none when no webhook lists the type, yet counts the parts as reported", async () => {
    const p = await setup({ subscribed: false });
    await p.poll(running({ videoCaptionResult: done("caption") }));
    expect(await p.progress()).toEqual([]);
    expect((await p.store.getTask("llm-a", "t1"))?.progressParts).toEqual(["videoCaptionResult"]);
    expect(p.writes()).toBe(1); // the running event
  });

  it("repeats, never loses or doubles, the events of a poll that crashed before the task's row was written", async () => {
    const p = await setup();
    const answer = running({ videoCaptionResult: done("caption"), videoTitleGenerateResult: done("title") });
    const update = p.store.updateTask.bind(p.store);
    p.store.updateTask = async () => {
      throw new Error("crashed before the row was written");
    };
    await expect(p.poll(answer)).rejects.toThrow("crashed");
    p.store.updateTask = update;
    expect((await p.progress()).map((d) => d.part)).toEqual(["videoCaptionResult", "videoTitleGenerateResult"]);
    expect((await p.store.getTask("llm-a", "t1"))?.progressParts).toBeUndefined();

    // The lease runs out; another run's poll writes the same events again: nothing new.
    p.clock.advance(61_000);
    const writes = p.writes();
    await p.poll(answer);
    expect(p.writes()).toBeGreaterThan(writes);
    expect((await p.progress()).map((d) => d.part)).toEqual(["videoCaptionResult", "videoTitleGenerateResult"]);
    expect(await p.deliveries()).toEqual(["wh_progress", "wh_progress"]);
    expect((await p.store.getTask("llm-a", "t1"))?.progressParts).toEqual([
      "videoCaptionResult",
      "videoTitleGenerateResult",
    ]);
    const ids = (await p.store.listEventsForTask("llm-a", "t1")).filter((e) => e.type === PROGRESS).map((e) => e.id);
    expect(ids.sort()).toEqual(
      [
        eventId("llm-a", "t1", PROGRESS, "videoCaptionResult"),
        eventId("llm-a", "t1", PROGRESS, "videoTitleGenerateResult"),
      ].sort(),
    );
  });
});
