import { describe, expect, it } from "vitest";
import { relayHarness } from "../../support/relay.js";

const WS = "llm-economy";
const TASKS = 1_000;
const CONCURRENCY = 5;
const TIMER_MS = 60_000;
const NAIVE_INTERVAL_MS = 10_000;

describe("polling economy", () => {
  it(`${TASKS} tasks, concurrency ${CONCURRENCY}, 2–8 min each: a fraction of a naive poller's calls`, async () => {
    const h = await relayHarness({
      sim: { workspaces: { [WS]: CONCURRENCY }, runMs: [120_000, 480_000], failureRate: 0.05, cancelRate: 0.02 },
    });
    const t0 = h.clock.now();
    const tasks = Array.from({ length: TASKS }, (_, i) => h.sim.addTask(WS, { submittedAtMs: t0 + i }));
    for (const [i, t] of tasks.entries())
      await h.register({ workspaceId: WS, taskId: t.taskId, submittedAtMs: t0 + i });

    let ticks = 0;
    for (;;) {
      await h.tick(50_000);
      ticks++;
      if ((await h.store.listTasks({ state: "active", limit: 1 })).items.length === 0) break;
      h.clock.set(t0 + ticks * TIMER_MS);
      expect(ticks).toBeLessThan(3_000);
    }
    const finishedAt = h.clock.now();
    const { calls } = h.sim.stats();
    const relayCalls = calls.GetVideoAnalysisTask + calls.GetVideoAnalysisConfig;

    // The naive policy: every unfinished task every 10 s, from registration until it ends.
    const naiveCalls = tasks.reduce(
      (sum, t) => sum + Math.floor(((t.endsAtMs ?? finishedAt) - t0) / NAIVE_INTERVAL_MS) + 1,
      0,
    );
    // How late the relay noticed each end, beyond its own timer (the timer runs once a minute).
    const done = await h.store.listTasks({ state: "done", limit: TASKS + 1 });
    const lagsMs = done.items.map(
      (row) => (row.terminalAtMs ?? 0) - (tasks.find((t) => t.taskId === row.taskId)?.endsAtMs ?? 0),
    );
    const meanLagS = lagsMs.reduce((a, b) => a + b, 0) / lagsMs.length / 1000;
    console.log(
      JSON.stringify({
        tasks: TASKS,
        concurrency: CONCURRENCY,
        simulatedHours: +((finishedAt - t0) / 3_600_000).toFixed(1),
        ticks,
        relayCalls,
        getTask: calls.GetVideoAnalysisTask,
        getConfig: calls.GetVideoAnalysisConfig,
        callsPerTask: +(relayCalls / TASKS).toFixed(2),
        naiveCalls,
        ratio: +(naiveCalls / relayCalls).toFixed(1),
        meanNoticeLagS: +meanLagS.toFixed(1),
        maxNoticeLagS: Math.max(...lagsMs) / 1000,
      }),
    );
    expect(done.items).toHaveLength(TASKS);
    expect(relayCalls).toBeLessThan(naiveCalls / 50);
    expect(relayCalls / TASKS).toBeLessThan(12);
    // Every end is noticed within a few timer periods.
    expect(Math.max(...lagsMs)).toBeLessThan(4 * TIMER_MS);
    const events = await Promise.all(tasks.slice(0, 20).map((t) => h.store.listEventsForTask(WS, t.taskId)));
    expect(events.every((e) => e.length === 2)).toBe(true); // running + terminal
  }, 180_000);
});
