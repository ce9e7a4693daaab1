import { describe, expect, it } from "vitest";
import { seededRandom } from "../../dev/seeded-random.js";
import {
  ALL_PROFILES,
  addSample,
  binOf,
  denseRanges,
  emptyModel,
  LATE_BUDGET,
  MAX_PROFILES,
  MIN_SAMPLES,
  modelFor,
  PRIOR_DENSE_MS,
  parseModels,
  quantileMs,
  type RunTimeModel,
  recordRunTime,
  runningDelayMs,
  runTimeOf,
  serializeModels,
} from "../../lib/runtimes.js";

const MIN = 60_000;
const policy = { targetMs: 10_000, minMs: 1_000, maxMs: 120_000 };

/** Log-normal run times around `medianMs`, seeded. */
function lognormal(seed: string, medianMs: number, sigma: number): () => number {
  const random = seededRandom(seed);
  return () => {
    const u = Math.max(1e-12, random());
    const v = random();
    const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    return medianMs * Math.exp(sigma * z);
  };
}

function train(draw: () => number, n: number): RunTimeModel {
  let model = emptyModel;
  for (let i = 0; i < n; i++) model = addSample(model, draw());
  return model;
}

/** Polls a task that runs `runMs` on the schedule from its first sight (elapsed 0): calls, and how late the end is seen. */
function follow(runMs: number, model: RunTimeModel | undefined, p = policy) {
  let t = 0;
  let calls = 1;
  while (t < runMs) {
    t += runningDelayMs(t, model, p);
    calls++;
  }
  return { calls, delayMs: t - runMs };
}

const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))] as number;

describe("run-time model", () => {
  it("bins are 5 % wide from 5 s; quantiles come back within a bin", () => {
    expect(binOf(0)).toBe(0);
    expect(binOf(5_000)).toBe(0);
    expect(binOf(5_000 * 1.05 ** 10 + 1)).toBe(10);
    const model = train(lognormal("q", 10 * MIN, 0.1), 400);
    expect(model.samples).toBe(400);
    expect(quantileMs(model, 0.5)).toBeGreaterThan(9.4 * MIN);
    expect(quantileMs(model, 0.5)).toBeLessThan(10.6 * MIN);
    expect(quantileMs(model, 0.95) as number).toBeGreaterThan(quantileMs(model, 0.5) as number);
    expect(quantileMs(emptyModel, 0.5)).toBeUndefined();
  });

  it("older samples fade: a workspace whose videos got longer is followed", () => {
    let model = train(lognormal("before", 5 * MIN, 0.05), 300);
    const after = lognormal("after", 20 * MIN, 0.05);
    for (let i = 0; i < 300; i++) model = addSample(model, after());
    expect(quantileMs(model, 0.5)).toBeGreaterThan(15 * MIN);
  });

  it("leaves at most LATE_BUDGET of the ends outside the dense stretches, the early ones first", () => {
    const draw = lognormal("dense", 10 * MIN, 0.1);
    const model = train(draw, 500);
    const ranges = denseRanges(model);
    expect(ranges.length).toBeGreaterThan(0);
    const first = ranges[0] as { fromMs: number; toMs: number };
    // The start of a run, where nothing ends, is not polled densely.
    expect(first.fromMs).toBeGreaterThan(6 * MIN);
    const outside = Array.from({ length: 5_000 }, draw).filter(
      (ms) => !ranges.some((r) => ms >= r.fromMs && ms < r.toMs),
    ).length;
    expect(outside / 5_000).toBeLessThan(LATE_BUDGET + 0.02);
  });

  it("a running task: waits for the dense stretch, polls at 0.9 × target inside it, backs off past it", () => {
    const model = train(lognormal("delay", 10 * MIN, 0.1), 300);
    const [range] = denseRanges(model) as [{ fromMs: number; toMs: number }];
    expect(runningDelayMs(0, model, policy)).toBe(policy.maxMs);
    expect(runningDelayMs(range.fromMs - 30_000, model, policy)).toBe(30_000);
    expect(runningDelayMs(range.fromMs + 1, model, policy)).toBe(9_000);
    const last = denseRanges(model).at(-1) as { toMs: number };
    expect(runningDelayMs(last.toMs + 60_000, model, policy)).toBe(30_000);
    expect(runningDelayMs(last.toMs + 3_600_000, model, policy)).toBe(policy.maxMs);
  });

  it("without a trusted model, the conservative prior: the target for the first hour, then backing off", () => {
    expect(runningDelayMs(0, undefined, policy)).toBe(9_000);
    expect(runningDelayMs(PRIOR_DENSE_MS - 1, undefined, policy)).toBe(9_000);
    expect(runningDelayMs(PRIOR_DENSE_MS + 100_000, undefined, policy)).toBe(50_000);
  });

  it.each([
    ["short, narrow", 2 * MIN, 0.08],
    ["medium", 10 * MIN, 0.15],
    ["long, wide", 40 * MIN, 0.35],
  ])(
    "holds p95 detection under the target on what it learned (%s), with well under a 10 s poller's calls",
    (_name, median, sigma) => {
      const model = train(lognormal(`train-${median}`, median, sigma), 300);
      const draw = lognormal(`test-${median}`, median, sigma);
      const runs = Array.from({ length: 2_000 }, draw);
      const followed = runs.map((ms) => follow(ms, model));
      const delays = followed.map((f) => f.delayMs);
      expect(percentile(delays, 95)).toBeLessThanOrEqual(policy.targetMs);
      expect(percentile(delays, 50)).toBeLessThanOrEqual(policy.targetMs * 0.6);
      const calls = followed.reduce((n, f) => n + f.calls, 0) / runs.length;
      const naive = runs.reduce((n, ms) => n + Math.floor(ms / 10_000) + 1, 0) / runs.length;
      // Measured: 0.40, 0.38 and 0.62 of the naive poller's calls.
      expect(calls).toBeLessThan(0.65 * naive);
    },
  );

  it("picks the profile's model, else the workspace's, once each has MIN_SAMPLES ends", () => {
    let models = {};
    for (let i = 0; i < MIN_SAMPLES; i++) models = recordRunTime(models, i % 2 ? "a" : undefined, 60_000);
    expect(modelFor(models, "a")).toBe((models as Record<string, RunTimeModel>)[ALL_PROFILES]);
    for (let i = 0; i < MIN_SAMPLES; i++) models = recordRunTime(models, "a", 60_000);
    expect(modelFor(models, "a")).toBe((models as Record<string, RunTimeModel>).a);
    expect(modelFor({}, "a")).toBeUndefined();
  });

  it("keeps at most MAX_PROFILES profiles per workspace", () => {
    let models = {};
    for (let i = 0; i < MAX_PROFILES + 5; i++) models = recordRunTime(models, `p${i}`, 60_000);
    expect(Object.keys(models).length).toBe(MAX_PROFILES + 1);
  });

  it("stores as a versioned document; anything unreadable is no model", () => {
    const models = recordRunTime({}, "x", 90_000);
    const back = parseModels(serializeModels(models));
    expect(back.x?.samples).toBe(1);
    expect(quantileMs(back.x as RunTimeModel, 0.5)).toBe(quantileMs(models.x as RunTimeModel, 0.5));
    for (const bad of [undefined, "", "{", "[]", '{"v":2,"models":{}}', '{"v":1,"models":{"a":{"bins":1}}}'])
      expect(parseModels(bad)).toEqual({});
    expect(parseModels('{"v":1,"models":{"a":{"samples":1,"bins":{"x":1,"3":-1,"4":2}}}}').a?.bins).toEqual({ 4: 2 });
  });

  it("a run time: the API's taskRunInfo.responseTime (number or numeric string), else the relay's estimate", () => {
    const estimate = { runningSinceMs: 1_000, lastPolledAtMs: 61_000, nowMs: 71_000 };
    expect(runTimeOf({ taskRunInfo: { responseTime: 123_456 } }, estimate)).toBe(123_456);
    expect(runTimeOf({ taskRunInfo: { responseTime: "5000" } }, estimate)).toBe(5_000);
    expect(runTimeOf({ taskRunInfo: { responseTime: "soon" } }, estimate)).toBe(65_000);
    expect(runTimeOf({}, estimate)).toBe(65_000); // the middle of the last gap, from the start
    expect(runTimeOf({}, { ...estimate, runningSinceMs: undefined })).toBeUndefined();
    // Longer than the relay saw it run, beyond how far off its start may be: queue time, not run time.
    expect(runTimeOf({ taskRunInfo: { responseTime: 600_000 } }, estimate, 120_000)).toBe(65_000);
    expect(runTimeOf({ taskRunInfo: { responseTime: 150_000 } }, estimate, 120_000)).toBe(150_000);
  });
});
