import { describe, expect, it } from "vitest";
import { seededRandom } from "../../dev/seeded-random.js";
import { denseIntervalMs, runningDelayMs, scheduleFor } from "../../lib/poll-timing.js";
import { chooseModel, pooledSpread, YOUNG_SAMPLES } from "../../lib/runtime-choice.js";
import {
  BIN_RATIO,
  binOf,
  MIN_SAMPLES,
  quantileMs,
  type RunTimeModel,
  recordRunTime,
  type WorkspaceModels,
} from "../../lib/runtimes.js";

const MIN = 60_000;
const policy = { targetMs: 10_000, minMs: 1_000, maxMs: 120_000 };
/** A log-normal σ in the models' bins (1 % wide). */
const inBins = (sigma: number) => sigma / Math.log(BIN_RATIO);

function lognormal(seed: string, medianMs: number, sigma: number): () => number {
  const random = seededRandom(seed);
  return () => {
    const z = Math.sqrt(-2 * Math.log(Math.max(1e-12, random()))) * Math.cos(2 * Math.PI * random());
    return medianMs * Math.exp(sigma * z);
  };
}

/** A workspace's models after `n` ends of each profile drawn as given. */
function workspace(seed: string, groups: Record<string, [medianMs: number, sigma: number]>, n: number) {
  let models: WorkspaceModels = {};
  for (const [profile, [median, sigma]] of Object.entries(groups)) {
    const draw = lognormal(`${seed}/${profile}`, median, sigma);
    for (let i = 0; i < n; i++) models = recordRunTime(models, profile === "-" ? undefined : profile, draw());
  }
  return models;
}

describe("young models, read with the spread pooled from every group", () => {
  it("pools the spread within each group, never across a workspace's kinds of work, once there is enough of it", () => {
    // Two kinds of work 1× and 3× as long: the workspace's whole is a mixture far wider than either.
    const sets = [0, 1, 2, 3].map((i) => workspace(`pool/${i}`, { fast: [5 * MIN, 0.1], full: [15 * MIN, 0.1] }, 30));
    const { runSd } = pooledSpread(sets);
    expect(runSd).toBeGreaterThan(inBins(0.1) * 0.85);
    expect(runSd).toBeLessThan(inBins(0.1) * 1.15);
    // Single-kind workspaces pool their whole.
    const single = pooledSpread([0, 1].map((i) => workspace(`single/${i}`, { "-": [4 * MIN, 0.2] }, 30))).runSd;
    expect(single).toBeGreaterThan(inBins(0.2) * 0.8);
    expect(single).toBeLessThan(inBins(0.2) * 1.2);
    // Nine groups of three ends are 18 degrees of freedom: not yet a pool; ten of them are.
    const few = (k: number) => Array.from({ length: k }, (_, i) => workspace(`few/${i}`, { "-": [4 * MIN, 0.1] }, 3));
    expect(pooledSpread(few(9))).toEqual({});
    expect(pooledSpread(few(10)).runSd).toBeGreaterThan(0);
  });

  it(`trusts a workspace's own ${YOUNG_SAMPLES} ends with a pool, before the relay's or the prior`, () => {
    const pooled = { runSd: inBins(0.1) };
    const relay = workspace("relay", { "-": [20 * MIN, 0.5] }, MIN_SAMPLES);
    const own = workspace("own", { fast: [5 * MIN, 0.1] }, YOUNG_SAMPLES);
    const chosen = chooseModel(own, relay, "fast", undefined, pooled);
    expect(chosen).toMatchObject({ source: "profile", perVideo: false });
    expect(chosen?.model.pooledSd).toBeCloseTo(inBins(0.1), 1);
    // The same model and pool give the same object, so that its schedules stay cached.
    expect(chooseModel(own, relay, "fast", undefined, pooled)?.model).toBe(chosen?.model);
    // Without a pool, or with one end too few, the relay's model as before.
    expect(chooseModel(own, relay, "fast", undefined)).toMatchObject({ source: "relay" });
    const fewer = workspace("own", { fast: [5 * MIN, 0.1] }, YOUNG_SAMPLES - 1);
    expect(chooseModel(fewer, relay, "fast", undefined, pooled)).toMatchObject({ source: "relay" });
    // A task without a profile where the workspace has profiles: its whole is a mixture, not young.
    expect(chooseModel(own, relay, undefined, undefined, pooled)).toMatchObject({ source: "relay" });
    // A workspace of one kind: its whole is the group.
    const plain = workspace("plain", { "-": [5 * MIN, 0.1] }, YOUNG_SAMPLES);
    expect(chooseModel(plain, undefined, undefined, undefined, pooled)).toMatchObject({ source: "workspace" });
    // Trusted on its own from MIN_SAMPLES: read as before, without the pool.
    const grown = workspace("own", { fast: [5 * MIN, 0.1] }, MIN_SAMPLES);
    expect(chooseModel(grown, relay, "fast", undefined, pooled)?.model.pooledSd).toBeUndefined();
  });

  it("a young model with the pool's spread covers the next end about as often as its schedule assumes", () => {
    const coverage = (n: number) => {
      let inside = 0;
      let total = 0;
      for (let trial = 0; trial < 200; trial++) {
        const draw = lognormal(`cover/${n}/${trial}`, 5 * MIN, 0.1);
        const bins: Record<string, number> = {};
        for (let i = 0; i < n; i++) {
          const bin = binOf(draw());
          bins[bin] = (bins[bin] ?? 0) + 1;
        }
        const model: RunTimeModel = { samples: n, bins, pooledSd: inBins(0.1) };
        const [low, high] = [quantileMs(model, 0.02) as number, quantileMs(model, 0.98) as number];
        for (let i = 0; i < 50; i++) {
          const end = draw();
          if (end >= low && end <= high) inside++;
          total++;
        }
      }
      return inside / total;
    };
    for (const n of [YOUNG_SAMPLES, 6, MIN_SAMPLES - 1]) {
      expect(coverage(n)).toBeGreaterThan(0.95);
      expect(coverage(n)).toBeLessThan(0.99);
    }
  });

  it("a group that varies more than the pool shows it in its own ends", () => {
    const width = (n: number, sigma: number) => {
      const draw = lognormal(`wide/${n}`, 5 * MIN, sigma);
      let bins: Record<string, number> = {};
      for (let i = 0; i < n; i++) {
        const bin = binOf(draw());
        bins = { ...bins, [bin]: (bins[bin] ?? 0) + 1 };
      }
      const model: RunTimeModel = { samples: n, bins, pooledSd: inBins(0.1) };
      return Math.log((quantileMs(model, 0.98) as number) / (quantileMs(model, 0.02) as number));
    };
    // Four times the pool's spread: wider at nine ends than a group like the pool, and wider still
    // than at three.
    expect(width(9, 0.4)).toBeGreaterThan(1.5 * width(9, 0.1));
    expect(width(9, 0.4)).toBeGreaterThan(width(3, 0.4));
  });

  it("a task outliving its young model is polled as without one; past a trusted model's end, less and less often", () => {
    const own = workspace("outlive", { "-": [5 * MIN, 0.1] }, YOUNG_SAMPLES);
    const young = chooseModel(own, undefined, undefined, undefined, { runSd: inBins(0.1) });
    expect(young?.model.pooledSd).toBeDefined();
    const { pollsMs } = scheduleFor(young?.model as RunTimeModel, policy.targetMs);
    const past = (pollsMs[pollsMs.length - 1] as number) + 10 * MIN;
    expect(runningDelayMs(past, young, policy)).toBe(denseIntervalMs(policy));
    const trusted = chooseModel(
      workspace("outlive", { "-": [5 * MIN, 0.1] }, MIN_SAMPLES),
      undefined,
      undefined,
      undefined,
    );
    expect(runningDelayMs(past, trusted, policy)).toBeGreaterThan(4 * denseIntervalMs(policy));
  });
});
