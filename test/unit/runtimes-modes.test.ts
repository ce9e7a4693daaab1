/**
 * Run times of two modes: a share of tasks fails within seconds (a video that cannot be downloaded,
 * a policy refusal) beside successes that take minutes. The kernel is sized by the spread of the
 * ends' middle half where that is much narrower than their standard deviation, so each mode stays
 * a mode and the gap between them is not polled.
 */
import { describe, expect, it } from "vitest";
import type { Truth } from "../../bench/economy-days.js";
import { floorOf } from "../../bench/floor.js";
import { seededRandom } from "../../dev/seeded-random.js";
import { runningDelayMs } from "../../lib/poll-timing.js";
import { addSample, emptyModel, type RunTimeModel } from "../../lib/runtimes.js";

const MIN = 60_000;
const policy = { targetMs: 10_000, minMs: 1_000, maxMs: 120_000 };

function draws(seed: string, truth: Truth & { kind: "mixture" }): () => number {
  const random = seededRandom(seed);
  return () => {
    let pick = random();
    const part =
      truth.parts.find((p) => (pick -= p.weight) < 0) ?? (truth.parts.at(-1) as (typeof truth.parts)[number]);
    const t = part.truth as { medianMs: number; sigma: number };
    const z = Math.sqrt(-2 * Math.log(Math.max(1e-12, random()))) * Math.cos(2 * Math.PI * random());
    return t.medianMs * Math.exp(t.sigma * z);
  };
}

/** Calls until a task that runs `runMs` is seen ended, and how late, on the model's schedule. */
function follow(runMs: number, model: RunTimeModel) {
  let t = 0;
  let calls = 0;
  while (t < runMs) {
    t += runningDelayMs(t, { model, scale: 1 }, policy);
    calls++;
  }
  return { calls, delayMs: t - runMs };
}

describe("run times of two modes", () => {
  it.each([
    // 1.29× and 1.28× the floor; sized by the standard deviation, 3.5× and 2.4×.
    [0.2, 1.35],
    [0.05, 1.35],
  ])("%s of tasks failing after ~20 s: p95 within the target, calls within %s× the floor", (fastShare, bound) => {
    const truth: Truth & { kind: "mixture" } = {
      kind: "mixture",
      parts: [
        { weight: fastShare, truth: { kind: "lognormal", medianMs: 20_000, sigma: 0.1 } },
        { weight: 1 - fastShare, truth: { kind: "lognormal", medianMs: 5 * MIN, sigma: 0.1 } },
      ],
    };
    let model = emptyModel;
    const train = draws(`train-${fastShare}`, truth);
    for (let i = 0; i < 300; i++) model = addSample(model, train());
    const runs = Array.from({ length: 2_000 }, draws(`test-${fastShare}`, truth));
    const followed = runs.map((ms) => follow(ms, model));
    const delays = followed.map((f) => f.delayMs).sort((a, b) => a - b);
    const calls = followed.reduce((n, f) => n + f.calls, 0) / runs.length;
    const floor = floorOf([truth], policy.targetMs).calls;
    expect(delays[Math.floor(0.95 * delays.length)]).toBeLessThanOrEqual(policy.targetMs);
    expect(calls).toBeLessThan(bound * floor);
  });
});
