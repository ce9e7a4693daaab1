import { describe, expect, it } from "vitest";
import { runTick } from "../../../lib/run/run.js";
import { relayHarness } from "../../support/relay.js";

const WS = "llm-poll";

describe("polling failure paths on a fake clock", () => {
  it("NoPermission backs off the whole workspace, reports it, and resumes when access returns", async () => {
    const h = await relayHarness();
    const rx = await h.subscriber();
    const task = h.sim.addTask(WS, { outcome: "SUCCESSED", runMs: 0 });
    await h.register({ workspaceId: WS, taskId: task.taskId });
    h.sim.denyWorkspace(WS);
    const first = await h.tick();
    expect(first.authFailures).toEqual([WS]);
    const ws = await h.store.getWorkspace(WS);
    expect(ws?.backoffUntilMs).toBeGreaterThan(h.clock.now());
    expect(ws?.lastError).toMatch(/AuthError NoPermission/);
    const calls = h.sim.stats().calls;
    h.clock.advance(30_000);
    await h.tick();
    expect(h.sim.stats().calls).toEqual(calls); // backed off: not a single call
    h.sim.denyWorkspace(WS, false);
    await h.runUntil(async () => rx.received.length === 1, 30_000, 20);
    expect(rx.received[0]?.verified?.type).toBe("video_analysis.succeeded");
    expect((await h.store.getWorkspace(WS))?.authFailures).toBe(0);
  });

  it("a task the API does not know ends with a failed event that says why", async () => {
    const h = await relayHarness();
    const rx = await h.subscriber();
    await h.register({ workspaceId: WS, taskId: "never-submitted" });
    await h.tick();
    const data = rx.received[0]?.verified?.data as { reason: { code: string; message: string }; task?: unknown };
    expect(rx.received[0]?.verified?.type).toBe("video_analysis.failed");
    expect(data.reason.code).toBe("DataNotExists");
    expect(data.task).toBeUndefined();
    const stored = await h.store.getTask(WS, "never-submitted");
    expect(stored?.state).toBe("done");
    // Said where a person looks first, too (tasks show, GET /v1/tasks/…).
    expect(stored?.lastError).toMatch(/^DataNotExists: /);
  });

  it("a task not finished within RELAY_TASK_MAX_AGE ends with an expired event", async () => {
    const h = await relayHarness({ env: { RELAY_TASK_MAX_AGE: "1h" } });
    const rx = await h.subscriber();
    const task = h.sim.addTask(WS, { runMs: 10 * 3_600_000 });
    await h.register({ workspaceId: WS, taskId: task.taskId });
    await h.runUntil(async () => rx.received.length > 0, 60_000, 100);
    expect(rx.received[0]?.verified?.type).toBe("video_analysis.expired");
    const data = rx.received[0]?.verified?.data as { taskStatus: string; reason: { code: string } };
    expect(data).toMatchObject({ taskStatus: "RUNNING", reason: { code: "Expired" } });
    const stored = await h.store.getTask(WS, task.taskId);
    expect(h.clock.now() - (stored?.submittedAtMs ?? 0)).toBeLessThan(3_600_000 + 120_000);
    expect(stored?.lastError).toBe("Expired: not finished within 1h of submission");
  });

  it("throttling slows polling down to the server's wait; 5xx is retried; both are counted", async () => {
    const h = await relayHarness();
    const rx = await h.subscriber();
    const task = h.sim.addTask(WS, { outcome: "SUCCESSED", runMs: 0 });
    await h.register({ workspaceId: WS, taskId: task.taskId });
    h.sim.faults.inject({
      action: "GetVideoAnalysisTask",
      fault: { kind: "throttle", retryAfterMs: 45_000 },
      times: 1,
    });
    const t0 = h.clock.now();
    const throttled = await h.tick();
    expect(throttled.throttled).toBe(1);
    expect((await h.store.getTask(WS, task.taskId))?.nextPollAtMs).toBeGreaterThanOrEqual(t0 + 45_000);
    h.sim.faults.inject({ action: "GetVideoAnalysisTask", fault: { kind: "serverError", status: 503 }, times: 1 });
    h.clock.advance(45_000);
    expect((await h.tick()).errors).toBe(1);
    await h.runUntil(async () => rx.received.length === 1, 10_000, 30);
    expect((await h.store.getTask(WS, task.taskId))?.lastError).toBeUndefined();
  });

  it("the opt-in running event is sent once, when a task is first seen RUNNING", async () => {
    const h = await relayHarness();
    const running = await h.subscriber({ request: { events: ["video_analysis.running", "video_analysis.succeeded"] } });
    const terminalOnly = await h.subscriber();
    const task = h.sim.addTask(WS, { outcome: "SUCCESSED", runMs: 5 * 60_000 });
    await h.register({ workspaceId: WS, taskId: task.taskId });
    await h.runUntil(async () => running.received.length === 2, 10_000, 100);
    expect(running.received.map((r) => r.verified?.type)).toEqual([
      "video_analysis.running",
      "video_analysis.succeeded",
    ]);
    expect(terminalOnly.received.map((r) => r.verified?.type)).toEqual(["video_analysis.succeeded"]);
  });
});

describe("delivery concurrency and quick retries", () => {
  it("caps concurrent requests per endpoint", async () => {
    const h = await relayHarness({ env: { RELAY_ENDPOINT_CONCURRENCY: "2", RELAY_DELIVERY_CONCURRENCY: "16" } });
    let inFlight = 0;
    let peak = 0;
    const rx = await h.subscriber({
      reply: () => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        setTimeout(() => inFlight--, 40);
        return { delayMs: 40 };
      },
    });
    h.sim.workspace(WS, 20);
    for (let i = 0; i < 12; i++) {
      const t = h.sim.addTask(WS, { outcome: "SUCCESSED", runMs: 0, submittedAtMs: h.clock.now() + i });
      await h.register({ workspaceId: WS, taskId: t.taskId, submittedAtMs: h.clock.now() + i });
    }
    await h.runUntil(async () => rx.received.length === 12, 10_000, 20);
    expect(peak).toBeLessThanOrEqual(2);
    expect(peak).toBeGreaterThanOrEqual(1);
  });

  it("a cut connection is retried at once inside the attempt (p-retry), counted as one attempt", async () => {
    const h = await relayHarness();
    const rx = await h.subscriber({ reply: (_r, i) => (i === 0 ? { destroy: true } : {}) });
    const task = h.sim.addTask(WS, { outcome: "SUCCESSED", runMs: 0 });
    await h.register({ workspaceId: WS, taskId: task.taskId });
    // The harness turns quick retries off; this run turns them on.
    const summary = await runTick({ ...h.deps, quickRetries: 2 }, { budgetMs: 30_000 });
    expect(summary.delivered).toBe(1);
    expect(rx.received).toHaveLength(2);
    expect(rx.received[0]?.headers["webhook-id"]).toBe(rx.received[1]?.headers["webhook-id"]);
    const [d] = (await h.store.listDeliveries({ limit: 1 })).items;
    expect(d).toMatchObject({ status: "delivered", attempts: 1 });
  });
});
