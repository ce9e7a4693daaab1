import { describe, expect, it } from "vitest";
import { PrometheusMetrics } from "../../../lib/prometheus.js";
import { defaultSecrets } from "../../../lib/secrets.js";
import { eventSchemaErrors } from "../../support/event-schemas.js";
import { startReceiver } from "../../support/receiver.js";
import { relayHarness, type StoreKind } from "../../support/relay.js";

const WS = "llm-e2e";

describe.each<StoreKind>(["sqlite", "tablestore"])("relay end to end on a fake clock, %s store", (store) => {
  it("delivers one verified event per finished task to each matching subscriber", async () => {
    const h = await relayHarness({ store, sim: { workspaces: { [WS]: 2, "llm-other": 2 } } });
    const metrics = new PrometheusMetrics();
    Object.assign(h.deps, { metrics });
    let secretAll = "";
    let secretSucceeded = "";
    let secretOther = "";
    const all = await startReceiver({ secret: () => secretAll, now: () => h.clock.now() });
    const succeededOnly = await startReceiver({ secret: () => secretSucceeded, now: () => h.clock.now() });
    const otherWs = await startReceiver({ secret: () => secretOther, now: () => h.clock.now() });
    const defaults = await defaultSecrets(h.store);
    const perTask = await startReceiver({ secret: () => defaults.map((d) => d.secret), now: () => h.clock.now() });

    secretAll = (await h.webhook({ url: all.url })).secret;
    secretSucceeded = (await h.webhook({ url: succeededOnly.url, events: ["video_analysis.succeeded"] })).secret;
    secretOther = (await h.webhook({ url: otherWs.url, workspaceId: "llm-other" })).secret;

    const outcomes = ["SUCCESSED", "FAILED", "CANCELED", "SUCCESSED", "SUCCESSED", "FAILED"] as const;
    const tasks = outcomes.map((outcome, i) => h.sim.addTask(WS, { outcome, runMs: 30_000 + i * 7_000 }));
    for (const [i, t] of tasks.entries()) {
      await h.register({
        workspaceId: WS,
        taskId: t.taskId,
        metadata: { order: i },
        webhooks: i === 0 ? [perTask.url] : [],
        submittedAtMs: h.clock.now() + i,
      });
    }
    await h.runUntil(async () => (await h.store.listTasks({ state: "active", limit: 1 })).items.length === 0);

    // Every request verified with the standardwebhooks library.
    for (const r of [...all.received, ...succeededOnly.received, ...perTask.received]) {
      expect(r.verifyError).toBeUndefined();
      expect(r.verified).toBeDefined();
      // …and matches the JSON Schema the relay publishes for its type (GET /v1/event-types).
      expect(eventSchemaErrors(r.verified)).toBeUndefined();
    }
    const byTask = (received: typeof all.received) =>
      received
        .map((r) => `${(r.verified?.data as { taskId?: string } | undefined)?.taskId}:${r.verified?.type}`)
        .sort();

    expect(byTask(all.received)).toEqual(
      tasks
        .map(
          (t, i) =>
            `${t.taskId}:video_analysis.${{ SUCCESSED: "succeeded", FAILED: "failed", CANCELED: "canceled" }[outcomes[i] as string]}`,
        )
        .sort(),
    );
    expect(new Set(all.received.map((r) => r.headers["webhook-id"])).size).toBe(tasks.length);
    expect(byTask(succeededOnly.received)).toEqual(
      tasks
        .filter((_, i) => outcomes[i] === "SUCCESSED")
        .map((t) => `${t.taskId}:video_analysis.succeeded`)
        .sort(),
    );
    expect(otherWs.received).toEqual([]);
    expect(perTask.received.every((r) => r.verified !== undefined)).toBe(true);
    expect(byTask(perTask.received)).toEqual([`${tasks[0]?.taskId}:video_analysis.succeeded`]);

    // data.task is exactly what the API returned; metadata and ids as registered.
    for (const r of all.received) {
      const data = r.verified?.data as {
        taskId: string;
        workspaceId: string;
        task: unknown;
        metadata: unknown;
        taskStatus: string;
      };
      expect(data.workspaceId).toBe(WS);
      expect(data.task).toEqual(h.sim.taskData(WS, data.taskId));
      expect(data.taskStatus).toBe((data.task as { taskStatus: string }).taskStatus);
      expect(data.metadata).toEqual({ order: tasks.findIndex((t) => t.taskId === data.taskId) });
      expect(r.headers["user-agent"]).toMatch(/^quanmiao-relay\//);
      expect(r.headers["content-type"]).toBe("application/json");
    }
    const delivered = await h.store.listDeliveries({ status: "delivered", limit: 100 });
    expect(delivered.items).toHaveLength(all.received.length + succeededOnly.received.length + perTask.received.length);

    // traceparent (W3C): one trace per event, shared by its deliveries to every subscriber; a span each.
    const every = [...all.received, ...succeededOnly.received, ...perTask.received];
    const traces = new Map<string, Set<string>>();
    for (const r of every) {
      const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(String(r.headers.traceparent));
      expect(m, String(r.headers.traceparent)).not.toBeNull();
      const taskId = String((r.verified?.data as { taskId?: string } | undefined)?.taskId);
      traces.set(taskId, (traces.get(taskId) ?? new Set()).add(m?.[1] as string));
    }
    expect([...traces.values()].every((ids) => ids.size === 1)).toBe(true);
    expect(new Set([...traces.values()].map((ids) => [...ids][0])).size).toBe(tasks.length);
    expect(new Set(every.map((r) => String(r.headers.traceparent).split("-")[2])).size).toBe(every.length);

    // What GET /metrics reports of this run: polls that saw ends, attempts by type, no backlog left.
    const { body } = await metrics.render(h.store, h.clock.now());
    expect(body).toMatch(/quanmiao_relay_polls_total\{outcome="ended"\} 6/);
    expect(body).toMatch(
      new RegExp(
        `quanmiao_relay_delivery_attempts_total\\{outcome="delivered",event_type="video_analysis.succeeded"\\} ${all.received.length - 3 + succeededOnly.received.length + perTask.received.length}`,
      ),
    );
    expect(body).toMatch(/quanmiao_relay_delivery_duration_seconds_count\{event_type="video_analysis.failed"\} 2/);
    expect(body).toMatch(/quanmiao_relay_detection_delay_seconds_count 6/);
    expect(body).toMatch(/quanmiao_relay_pending_deliveries 0/);
  });

  it("respects asyncConcurrency: never more than N window tasks polled before a slot frees", async () => {
    const h = await relayHarness({ store, sim: { workspaces: { [WS]: 2 } } });
    const tasks = Array.from({ length: 10 }, (_, i) =>
      h.sim.addTask(WS, { outcome: "SUCCESSED", runMs: 60_000, submittedAtMs: h.clock.now() + i }),
    );
    for (const [i, t] of tasks.entries())
      await h.register({ workspaceId: WS, taskId: t.taskId, submittedAtMs: h.clock.now() + i });
    await h.tick();
    // First run: only the window (the oldest 2) runs, presumed since its submission and first asked
    // where its end is likely; the band waits for the sweep, the rest are parked.
    const polled = await Promise.all(tasks.map((t) => h.store.getTask(WS, t.taskId)));
    expect(polled.map((t) => t?.runningSinceMs !== undefined)).toEqual([
      true,
      true,
      false,
      false,
      false,
      false,
      false,
      false,
      false,
      false,
    ]);
    expect(polled.map((t) => t?.pollCount ?? 0)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    const band = polled[2];
    // (The fake clock moved a few ms during the run: the rate limiter's waits advance it.)
    expect(band?.nextPollAtMs).toBeGreaterThan(h.clock.now() + h.config.poll.sweepIntervalMs - 1_000);
    expect(band?.nextPollAtMs).toBeLessThanOrEqual(h.clock.now() + h.config.poll.sweepIntervalMs);
    await h.runUntil(async () => (await h.store.listTasks({ state: "active", limit: 1 })).items.length === 0);
    const done = await h.store.listTasks({ state: "done", limit: 100 });
    expect(done.items).toHaveLength(10);
  });
});
