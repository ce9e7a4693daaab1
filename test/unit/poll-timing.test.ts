import { describe, expect, it } from "vitest";
import { floorOf } from "../../bench/floor.js";
import { seededRandom } from "../../dev/seeded-random.js";
import { denseIntervalMs, denseRanges, PRIOR_DENSE_MS, runningDelayMs, scheduleFor } from "../../lib/poll-timing.js";
import { addSample, emptyModel, type RunTimeModel } from "../../lib/runtime-model.js";
import { VIDEO_UNIT_MS } from "../../lib/runtimes.js";

const MIN = 60_000;
const policy = { targetMs: 10_000, minMs: 1_000, maxMs: 120_000 };

function lognormal(seed: string, medianMs: number, sigma: number): () => number {
  const random = seededRandom(seed);
  return () => {
    const z = Math.sqrt(-2 * Math.log(Math.max(1e-12, random()))) * Math.cos(2 * Math.PI * random());
    return medianMs * Math.exp(sigma * z);
  };
}

function train(draw: () => number, n: number): RunTimeModel {
  let model = emptyModel;
  for (let i = 0; i < n; i++) model = addSample(model, draw());
  return model;
}

/** Follows a task that runs `runMs` from its start: calls until its end is seen, and how late. */
function follow(runMs: number, chosen: { model: RunTimeModel; scale: number } | undefined) {
  let t = 0;
  let calls = 0;
  while (t < runMs) {
    t += runningDelayMs(t, chosen, policy);
    calls++;
  }
  return { calls, delayMs: t - runMs };
}

const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))] as number;

/** The floor: the cheapest schedule on the true (log-normal) distribution, p95 within the target. */
const floorCalls = (medianMs: number, sigma: number) =>
  floorOf([{ kind: "lognormal", medianMs, sigma }], policy.targetMs).calls;

describe("when to poll a running task", () => {
  it.each([
    ["short, narrow", 2 * MIN, 0.08],
    ["medium", 10 * MIN, 0.15],
    ["long, wide", 40 * MIN, 0.35],
  ])(
    "on what it learned (%s): p95 within the target, calls within 1.15× the floor on the truth",
    (_n, median, sigma) => {
      const chosen = { model: train(lognormal(`train-${median}`, median, sigma), 300), scale: 1 };
      const runs = Array.from({ length: 2_000 }, lognormal(`test-${median}`, median, sigma));
      const followed = runs.map((ms) => follow(ms, chosen));
      expect(
        percentile(
          followed.map((f) => f.delayMs),
          95,
        ),
      ).toBeLessThanOrEqual(policy.targetMs);
      const calls = followed.reduce((n, f) => n + f.calls, 0) / runs.length;
      expect(calls).toBeLessThan(1.15 * floorCalls(median, sigma));
    },
  );

  it("per minute of video: a 10-minute video's polls gather around 1.5 × 10 min", () => {
    const model = train(lognormal("per-video", 1.5 * VIDEO_UNIT_MS, 0.04), 200);
    const [range] = denseRanges({ model, scale: 10 }, policy.targetMs);
    expect(range?.fromMs).toBeGreaterThan(13 * MIN);
    expect(range?.toMs).toBeLessThan(19 * MIN);
    expect(runningDelayMs(0, { model, scale: 10 }, policy)).toBe(scheduleFor(model, policy.targetMs, 10).pollsMs[0]);
  });

  it("past its last planned poll a task is polled less and less often, up to the maximum interval", () => {
    const chosen = { model: train(lognormal("tail", 5 * MIN, 0.1), 200), scale: 1 };
    const last = scheduleFor(chosen.model, policy.targetMs).pollsMs.at(-1) as number;
    expect(runningDelayMs(last + 60_000, chosen, policy)).toBe(30_000);
    expect(runningDelayMs(last + 3_600_000, chosen, policy)).toBe(policy.maxMs);
  });

  it("past a young model's last planned poll a task is polled as the prior polls it: the model was likely wrong", () => {
    // Three ends of 5 min: a task still running at 20 min says more about the model than the task.
    const young = { model: train(lognormal("young-tail", 5 * MIN, 0.05), 3), scale: 1 };
    const last = scheduleFor(young.model, policy.targetMs).pollsMs.at(-1) as number;
    expect(last).toBeLessThan(20 * MIN);
    expect(runningDelayMs(last + 60_000, young, policy)).toBe(denseIntervalMs(policy));
    expect(runningDelayMs(PRIOR_DENSE_MS + 100_000, young, policy)).toBe(50_000);
    // Settled (twenty ends and more), the same task backs off from where the schedule stopped.
    const settled = { model: train(lognormal("young-tail", 5 * MIN, 0.05), 20), scale: 1 };
    const settledLast = scheduleFor(settled.model, policy.targetMs).pollsMs.at(-1) as number;
    expect(runningDelayMs(settledLast + 60_000, settled, policy)).toBe(30_000);
    // Past the prior's first hour, a young model's long task backs off from its last planned poll
    // (the sooner of the two), not at once to the maximum interval.
    const long = { model: train(lognormal("young-long", 120 * MIN, 0.05), 3), scale: 1 };
    const longLast = scheduleFor(long.model, policy.targetMs).pollsMs.at(-1) as number;
    expect(longLast).toBeGreaterThan(PRIOR_DENSE_MS);
    expect(runningDelayMs(longLast + 1_000, long, policy)).toBe(denseIntervalMs(policy));
  });

  it("an outlier two days long neither stretches the schedule nor leaves a gap as long as itself", () => {
    let model = train(lognormal("bulk", 5 * MIN, 0.1), 120);
    model = addSample(model, 47 * 60 * MIN);
    const { pollsMs } = scheduleFor(model, policy.targetMs);
    expect(pollsMs.at(-1) as number).toBeLessThan(30 * MIN);
    // A task still running at 20 min backs off from its last planned poll, up to the maximum interval.
    expect(runningDelayMs(20 * MIN, { model, scale: 1 }, policy)).toBeLessThanOrEqual(policy.maxMs);
    // Even a video 24 h long over that model: a bounded grid, computed in a moment.
    const started = performance.now();
    expect(scheduleFor(model, policy.targetMs, 1_439).pollsMs.length).toBeGreaterThan(0);
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it("a video length far too long delays the first poll by ten maximum intervals at most", () => {
    const model = train(lognormal("one-to-one", VIDEO_UNIT_MS, 0.03), 100);
    // The task's video is 5 min; the hint says 60.
    expect(runningDelayMs(30_000, { model, scale: 60 }, policy)).toBeLessThanOrEqual(10 * policy.maxMs);
  });

  it("without a trusted model, the conservative prior: the target for the first hour, then backing off", () => {
    expect(runningDelayMs(0, undefined, policy)).toBe(9_700);
    expect(runningDelayMs(PRIOR_DENSE_MS - 1, undefined, policy)).toBe(9_700);
    expect(runningDelayMs(PRIOR_DENSE_MS + 100_000, undefined, policy)).toBe(50_000);
  });

  it("plans polls 0.97 × the target apart, and at least 300 ms under it where that is more", () => {
    // A poll lands a little after it is due, by an amount that does not shrink with the target.
    expect(denseIntervalMs({ targetMs: 30_000, minMs: 1_000 })).toBe(29_100);
    expect(denseIntervalMs({ targetMs: 10_000, minMs: 1_000 })).toBe(9_700);
    expect(denseIntervalMs({ targetMs: 5_000, minMs: 1_000 })).toBe(4_700);
    expect(denseIntervalMs({ targetMs: 1_000, minMs: 1_000 })).toBe(1_000);
    // The learned schedule's dense stretch keeps to the same gap.
    const model = train(lognormal("slack", 5 * MIN, 0.1), 100);
    const { pollsMs } = scheduleFor(model, 5_000);
    const gaps = pollsMs.slice(1).map((at, i) => at - (pollsMs[i] as number));
    expect(gaps.filter((g) => Math.abs(g - 4_700) <= 1).length).toBeGreaterThan(10);
    expect(gaps.filter((g) => g > 4_701 && g <= 4_850)).toEqual([]);
  });
});
