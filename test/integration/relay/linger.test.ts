/**
 * Runs that cover the minute (RELAY_LINGER) and delivery beside polling, on the fake clock against
 * the simulator: a run stays alive while its tasks run, polls each on its own due time, and notices
 * ends within the detection target; with nothing running it ends at once, doing what it always did.
 */
import { describe, expect, it } from "vitest";
import { runTick } from "../../../lib/run/run.js";
import type { Store } from "../../../lib/store/store.js";
import { relayHarness } from "../../support/relay.js";

const WS = "llm-linger";
const MINUTE = 60_000;

/** Counts the store calls a run makes, by method. */
function countingStore(store: Store) {
  const calls: Record<string, number> = {};
  const proxy = new Proxy(store, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        calls[String(key)] = (calls[String(key)] ?? 0) + 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: proxy, calls };
}

async function timerRuns(linger: string | undefined) {
  const h = await relayHarness({
    env: { RELAY_DETECTION_TARGET: "10s", ...(linger ? { RELAY_LINGER: linger } : {}) },
    sim: { workspaces: { [WS]: 3 }, runMs: [90_000, 400_000] },
  });
  await h.subscriber();
  const t0 = h.clock.now();
  // Submitted a millisecond apart: the queue order is submission order, as the relay assumes.
  const tasks = Array.from({ length: 9 }, (_, i) => h.sim.addTask(WS, { submittedAtMs: t0 + i }));
  for (const t of tasks) await h.register({ workspaceId: WS, taskId: t.taskId, submittedAtMs: t.submittedAtMs });
  const summaries = [];
  // One run a minute, as the FC timer fires; a lingering run may end just after the next is due.
  for (let minute = 0; minute < 60; minute++) {
    h.clock.set(Math.max(h.clock.now(), t0 + minute * MINUTE));
    summaries.push(await h.tick(108_000));
    if ((await h.store.listTasks({ state: "active", limit: 1 })).items.length === 0) break;
  }
  const lagsMs = [];
  for (const t of tasks) {
    const row = await h.store.getTask(WS, t.taskId);
    expect(row?.state).toBe("done");
    lagsMs.push((row?.terminalAtMs ?? 0) - (t.endsAtMs ?? 0));
  }
  return { h, summaries, lagsMs, calls: h.sim.stats().calls.GetVideoAnalysisTask };
}

describe("runs that cover the minute (RELAY_LINGER)", () => {
  it("a lingering run notices every end within the target; without lingering, ends wait for the next minute", async () => {
    const lingering = await timerRuns("60s");
    expect(Math.max(...lingering.lagsMs)).toBeLessThanOrEqual(10_000);
    expect(lingering.summaries.some((s) => s.lingeredMs > 30_000)).toBe(true);
    // A run never lingers past RELAY_LINGER, so runs overlap by a poll at most.
    expect(Math.max(...lingering.summaries.map((s) => s.durationMs))).toBeLessThanOrEqual(60_000 + 10_000);
    expect(lingering.summaries.reduce((n, s) => n + s.lateEnds, 0)).toBe(0);

    const minutely = await timerRuns(undefined);
    expect(minutely.summaries.every((s) => s.lingeredMs === 0)).toBe(true);
    expect(Math.max(...minutely.lagsMs)).toBeGreaterThan(20_000);
    expect(minutely.summaries.reduce((n, s) => n + s.lateEnds, 0)).toBeGreaterThan(0);
  });

  it("a lingering run woken before its due time ends (how Ctrl-C stops dev), without spinning", async () => {
    const h = await relayHarness({ env: { RELAY_LINGER: "60s" }, sim: { workspaces: { [WS]: 2 }, runMs: 300_000 } });
    const t = h.sim.addTask(WS, { submittedAtMs: h.clock.now() });
    // Registered without a submission time: asked about at once (not presumed running).
    await h.register({ workspaceId: WS, taskId: t.taskId });
    const { store, calls } = countingStore(h.store);
    // A lingering sleep that returns at once, as dev's does after Ctrl-C (the rate limiter's short
    // waits still pass on the fake clock, as they do on the real one).
    const sleep = async (ms: number) => {
      if (ms < 1_000) h.clock.advance(ms);
    };
    const summary = await runTick({ ...h.deps, store, sleep }, { budgetMs: 50_000 });
    expect(summary).toMatchObject({ polled: 1, lingeredMs: 0 });
    expect(calls.claimDueTasks).toBe(2);
  });

  it("a store failing mid-linger ends the run, counted and logged, never thrown (regression: a busy answer failed the run)", async () => {
    const h = await relayHarness({ env: { RELAY_LINGER: "60s" }, sim: { workspaces: { [WS]: 2 }, runMs: 300_000 } });
    const t = h.sim.addTask(WS, { submittedAtMs: h.clock.now() });
    // Registered without a submission time: asked about at once (not presumed running).
    await h.register({ workspaceId: WS, taskId: t.taskId });
    let claims = 0;
    const store = new Proxy(h.store, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver);
        if (key !== "claimDueTasks") return typeof value === "function" ? value.bind(target) : value;
        return async (...args: Parameters<typeof target.claimDueTasks>) => {
          // The third claim is a lingering run's, after its first wait.
          if (++claims === 3) throw Object.assign(new Error("Server is busy."), { code: 503 });
          return target.claimDueTasks(...args);
        };
      },
    });
    const logged: Array<Record<string, unknown>> = [];
    const summary = await runTick({ ...h.deps, store, log: (e) => logged.push(e) }, { budgetMs: 50_000 });
    expect(summary.polled).toBeGreaterThanOrEqual(1);
    expect(summary.errors).toBe(1);
    expect(logged).toContainEqual(
      expect.objectContaining({
        level: "error",
        msg: "run ended early: the store failed",
        error: "Error: Server is busy.",
      }),
    );
    // Nothing is left leased: the next run polls the task as usual.
    expect((await h.store.getTask(WS, t.taskId))?.leaseOwner).toBeUndefined();
  });

  it("an idle run ends at once and makes the same store calls with or without RELAY_LINGER", async () => {
    const counts = [];
    for (const linger of [undefined, "60s"]) {
      const h = await relayHarness({ env: linger ? { RELAY_LINGER: linger } : {}, sim: { workspaces: { [WS]: 2 } } });
      const { store, calls } = countingStore(h.store);
      const idle = await runTick({ ...h.deps, store }, { budgetMs: 50_000 });
      expect(idle).toMatchObject({ lingeredMs: 0, durationMs: 0, polled: 0 });
      counts.push(calls);
    }
    expect(counts[1]).toEqual(counts[0]);
  });

  it("a run with only queued (PENDING) tasks polls what is due and does not linger", async () => {
    const h = await relayHarness({ env: { RELAY_LINGER: "60s" }, sim: { workspaces: { [WS]: 2 } } });
    const t0 = h.clock.now();
    for (let i = 0; i < 3; i++) {
      // Submitted in the simulator's future: it holds them PENDING until then.
      const t = h.sim.addTask(WS, { submittedAtMs: t0 + 10 * MINUTE + i });
      h.clock.advance(1);
      await h.register({ workspaceId: WS, taskId: t.taskId });
    }
    const summary = await h.tick();
    expect(summary.polled).toBeGreaterThan(0);
    expect(summary.lingeredMs).toBe(0);
    // Only the rate limiter's few milliseconds between calls.
    expect(summary.durationMs).toBeLessThan(1_000);
  });

  it("delivers while polling goes on: the first webhook arrives before the run's last poll", async () => {
    const h = await relayHarness({ env: { RELAY_API_CONCURRENCY: "1" }, sim: { workspaces: { [WS]: 30 } } });
    const t0 = h.clock.now();
    const tasks = Array.from({ length: 12 }, () => h.sim.addTask(WS, { submittedAtMs: t0, runMs: 1_000 }));
    for (const t of tasks) await h.register({ workspaceId: WS, taskId: t.taskId, submittedAtMs: t0 });
    h.sim.faults.inject({ fault: { kind: "latency", ms: 50 } });
    let pollsWhenFirstDelivered: number | undefined;
    await h.subscriber({
      reply: () => {
        pollsWhenFirstDelivered ??= h.sim.stats().calls.GetVideoAnalysisTask;
        return {};
      },
    });
    h.clock.advance(MINUTE);
    const summary = await h.tick();
    expect(summary).toMatchObject({ polled: 12, delivered: 12 });
    // A run used to deliver between claims (of 4 tasks here): now the first end goes out at once.
    expect(pollsWhenFirstDelivered).toBeLessThanOrEqual(2);
  });
});
