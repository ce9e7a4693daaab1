/**
 * Run times of two modes: a share of tasks fails within seconds (a video that cannot be downloaded,
 * a policy refusal) beside successes that take minutes. Each mode is smoothed on its own, so the
 * gap between them is not polled; ends of one mode, however wide or skewed, are smoothed as before.
 */
import { describe, expect, it } from "vitest";
import type { Truth } from "../../bench/economy-days.js";
import { floorOf } from "../../bench/floor.js";
import { seededRandom } from "../../dev/seeded-random.js";
import { runningDelayMs } from "../../lib/poll-timing.js";
import { modesOf } from "../../lib/runtime-density.js";
import { addSample, emptyModel, type RunTimeModel } from "../../lib/runtime-model.js";

const MIN = 60_000;
const policy = { targetMs: 10_000, minMs: 1_000, maxMs: 120_000 };
type Part = { weight: number; medianMs: number; sigma: number };

function draws(seed: string, parts: readonly Part[]): () => number {
  const random = seededRandom(seed);
  return () => {
    const pick = random();
    let below = 0;
    const part =
      parts.find((p) => {
        below += p.weight;
        return pick < below;
      }) ?? (parts.at(-1) as Part);
    const z = Math.sqrt(-2 * Math.log(Math.max(1e-12, random()))) * Math.cos(2 * Math.PI * random());
    return part.medianMs * Math.exp(part.sigma * z);
  };
}

function trained(seed: string, parts: readonly Part[], ends: number): RunTimeModel {
  const draw = draws(seed, parts);
  let model = emptyModel;
  for (let i = 0; i < ends; i++) model = addSample(model, draw());
  return model;
}

const modes = (model: RunTimeModel) =>
  modesOf(
    Object.entries(model.bins).map(([bin, weight]) => ({ bin: Number(bin), weight })),
    model.samples,
  ).length;

/** Over `seeds` models of `ends` ends each, 2,000 tasks followed on each: calls against the floor, and each p95. */
function followed(parts: readonly Part[], ends: number, seeds: number) {
  const truth: Truth = {
    kind: "mixture",
    parts: parts.map((p) => ({ weight: p.weight, truth: { kind: "lognormal", medianMs: p.medianMs, sigma: p.sigma } })),
  };
  let calls = 0;
  let late = 0;
  const p95s: number[] = [];
  for (let s = 0; s < seeds; s++) {
    const model = trained(`train-${s}`, parts, ends);
    const delays = Array.from({ length: 2_000 }, draws(`test-${s}`, parts)).map((runMs) => {
      let t = 0;
      while (t < runMs) {
        t += runningDelayMs(t, { model, scale: 1 }, policy);
        calls++;
      }
      return t - runMs;
    });
    delays.sort((a, b) => a - b);
    late += delays.filter((ms) => ms > policy.targetMs).length;
    p95s.push(delays[Math.floor(0.95 * delays.length)] as number);
  }
  return {
    ofFloor: calls / (seeds * 2_000) / floorOf([truth], policy.targetMs).calls,
    lateShare: late / (seeds * 2_000),
    p95s,
  };
}

const twoModes = (fastShare: number): Part[] => [
  { weight: fastShare, medianMs: 20_000, sigma: 0.1 },
  { weight: 1 - fastShare, medianMs: 5 * MIN, sigma: 0.1 },
];

describe("run times of two modes", () => {
  it("one mode, however wide or skewed, is one; two far apart are two, each with a tenth of the weight and ten ends", () => {
    for (const sigma of [0.05, 0.3, 0.6])
      expect(modes(trained("one", [{ weight: 1, medianMs: 5 * MIN, sigma }], 300))).toBe(1);
    const straggling = [
      { weight: 0.9, medianMs: 5 * MIN, sigma: 0.1 },
      { weight: 0.1, medianMs: 10 * MIN, sigma: 0.5 },
    ];
    expect(modes(trained("straggling", straggling, 300))).toBe(1);
    const narrowInBroad = [
      { weight: 0.7, medianMs: 5 * MIN, sigma: 0.02 },
      { weight: 0.3, medianMs: 8 * MIN, sigma: 0.4 },
    ];
    expect(modes(trained("narrow", narrowInBroad, 300))).toBe(1);
    expect(modes(trained("two", twoModes(0.2), 300))).toBe(2);
    expect(modes(trained("two", twoModes(0.5), 300))).toBe(2);
    // Too light to be a mode of its own: a twentieth of the weight, or six ends of thirty.
    expect(modes(trained("light", twoModes(0.05), 300))).toBe(1);
    expect(modes(trained("few", twoModes(0.2), 30))).toBe(1);
  });

  it.each([100, 300])(
    "a fifth failing after ~20 s, from %s ends: each of 8 workspaces' p95 within the target, near the floor",
    (ends) => {
      // One kernel for both modes: 3.8× (100 ends) and 3.6× (300 ends) the floor.
      const { ofFloor, p95s } = followed(twoModes(0.2), ends, 8);
      for (const p95 of p95s) expect(p95).toBeLessThanOrEqual(policy.targetMs);
      expect(ofFloor).toBeLessThan(1.3);
    },
  );

  it("most ends under 5 s, a fifth in minutes: the fast mode stays under 5 s instead of being drawn to the mean", () => {
    // One kernel, drawn in towards the mean of both modes: 80 % of ends late.
    const parts = [
      { weight: 0.8, medianMs: 2_000, sigma: 0.3 },
      { weight: 0.2, medianMs: 3 * MIN, sigma: 0.4 },
    ];
    const { lateShare } = followed(parts, 300, 8);
    expect(lateShare).toBeLessThan(0.05);
  });
});
