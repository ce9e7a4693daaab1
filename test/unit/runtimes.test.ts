import { describe, expect, it } from "vitest";
import { seededRandom } from "../../dev/seeded-random.js";
import { predictiveWidening, quantileMs, T98 } from "../../lib/runtime-density.js";
import { addSample, binEnd, binOf, binStart, emptyModel, exactly, type RunTimeModel } from "../../lib/runtime-model.js";
import {
  ALL_PROFILES,
  chooseModel,
  MAX_PROFILES,
  MIN_SAMPLES,
  parseModels,
  recordRunTime,
  runTimeOf,
  SETTLED_SAMPLES,
  serializeModels,
  VIDEO_PREFIX,
} from "../../lib/runtimes.js";

const MIN = 60_000;
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

describe("run-time model", () => {
  it("bins are 1 % wide from 5 s; quantiles come back within a bin", () => {
    expect(binOf(0)).toBe(0);
    expect(binOf(5_000)).toBe(0);
    expect(binOf(5_000 * 1.01 ** 10 + 1)).toBe(10);
    const model = train(lognormal("q", 10 * MIN, 0.1), 400);
    expect(model.samples).toBe(400);
    expect(quantileMs(model, 0.5)).toBeGreaterThan(9.4 * MIN);
    expect(quantileMs(model, 0.5)).toBeLessThan(10.6 * MIN);
    expect(quantileMs(model, 0.95) as number).toBeGreaterThan(quantileMs(model, 0.5) as number);
    expect(quantileMs(emptyModel, 0.5)).toBeUndefined();
  });

  it("the smoothed model keeps the data's spread: the kernel does not widen it", () => {
    // The spread of the ends themselves, against the model's: a schedule is as wide as the model.
    const spreadOf = (values: number[]) => {
      const logs = values.map((v) => Math.log(v));
      const mean = logs.reduce((a, b) => a + b, 0) / logs.length;
      return Math.sqrt(logs.reduce((a, b) => a + (b - mean) ** 2, 0) / logs.length);
    };
    for (const n of [20, 100]) {
      const draw = lognormal(`spread/${n}`, 5 * MIN, 0.1);
      const ends = Array.from({ length: n }, draw);
      // No fading here: every end weighs the same, as in the spread computed from them.
      const bins: Record<string, number> = {};
      for (const end of ends) bins[binOf(end)] = (bins[binOf(end)] ?? 0) + 1;
      const model: RunTimeModel = { samples: n, bins };
      const qs = Array.from({ length: 199 }, (_, i) => quantileMs(model, (i + 1) / 200) as number);
      const ratio = spreadOf(qs) / spreadOf(ends);
      // Silverman's kernel alone made it 1.08 (n = 100) and 1.14 (n = 20) times wider.
      expect(ratio).toBeGreaterThan(0.95);
      expect(ratio).toBeLessThan(1.04);
    }
  });

  it("a model of few ends is read as wide as the next end is likely to fall", () => {
    // How often a new end lands inside the model's middle 96 %, over many small samples: the share
    // a schedule covering 96 % of the model's ends actually covers while the model is young.
    const coverage = (n: number, sigma: number) => {
      let inside = 0;
      let total = 0;
      // Enough trials that the share is known to ±0.003: three ends vary a lot from trial to trial.
      for (let trial = 0; trial < 1_000; trial++) {
        const draw = lognormal(`young/${n}/${sigma}/${trial}`, 5 * MIN, sigma);
        const bins: Record<string, number> = {};
        for (let i = 0; i < n; i++) {
          const bin = binOf(draw());
          bins[bin] = (bins[bin] ?? 0) + 1;
        }
        const model: RunTimeModel = { samples: n, bins };
        const [low, high] = [quantileMs(model, 0.02) as number, quantileMs(model, 0.98) as number];
        for (let i = 0; i < 50; i++) {
          const end = draw();
          if (end >= low && end <= high) inside++;
          total++;
        }
      }
      return inside / total;
    };
    // Read at the ends' own spread, five ends covered 0.81 and ten 0.89; three, through the
    // Cornish–Fisher t that the exact one replaced, 0.943 at σ 0.4. Models are trusted from ten
    // ends, but the reading does not depend on that. The same at any spread: a workspace whose run
    // times vary four times as much as another's is read four times as wide.
    for (const sigma of [0.05, 0.1, 0.4]) {
      for (const n of [3, 5, MIN_SAMPLES, 15]) {
        const share = coverage(n, sigma);
        expect(share, `${n} ends, σ ${sigma}`).toBeGreaterThan(0.945);
        expect(share, `${n} ends, σ ${sigma}`).toBeLessThan(0.975);
      }
    }
  });

  it("the t quantiles the predictive spread uses are the t distribution's 98th percentiles", () => {
    // Γ((ν + 1)/2) / Γ(ν/2) by Γ(x + 1) = x·Γ(x) from Γ(1/2) = √π and Γ(1) = 1.
    const gammaRatio = (nu: number) => {
      let top = nu % 2 === 0 ? Math.sqrt(Math.PI) : 1;
      let bottom = nu % 2 === 0 ? 1 : Math.sqrt(Math.PI);
      for (let x = nu % 2 === 0 ? 0.5 : 1; x < (nu + 1) / 2 - 0.25; x++) top *= x;
      for (let x = nu % 2 === 0 ? 1 : 0.5; x < nu / 2 - 0.25; x++) bottom *= x;
      return top / bottom;
    };
    for (let nu = 1; nu < SETTLED_SAMPLES; nu++) {
      const t = T98[nu] as number;
      const density = (x: number) => (gammaRatio(nu) / Math.sqrt(nu * Math.PI)) * (1 + (x * x) / nu) ** (-(nu + 1) / 2);
      // Simpson's rule from 0 to t; the density is symmetric about 0.
      const steps = 20_000;
      let sum = density(0) + density(t);
      for (let i = 1; i < steps; i++) sum += (i % 2 ? 4 : 2) * density((i * t) / steps);
      const cdf = 0.5 + (sum * t) / steps / 3;
      expect(Math.abs(cdf - 0.98), `ν = ${nu}`).toBeLessThan(5e-5);
    }
    expect(predictiveWidening(3)).toBeCloseTo(3.34, 2);
    expect(predictiveWidening(5)).toBeCloseTo(1.79, 2);
    expect(predictiveWidening(SETTLED_SAMPLES)).toBe(1);
  });

  it("counts a model's ends, not their faded weight, to tell when its spread is settled", () => {
    // Twenty ends weigh 18.2 once faded; read by weight, the model would be widened to its 23rd end.
    const settled = train(lognormal("settled", 5 * MIN, 0.1), 20);
    const young: RunTimeModel = { samples: 19, bins: settled.bins };
    const width = (m: RunTimeModel) => (quantileMs(m, 0.98) as number) - (quantileMs(m, 0.02) as number);
    expect(width(young) / width(settled)).toBeGreaterThan(1.1);
  });

  it("a model is never read narrower than one bin: ends spread over two bins read no narrower than one", () => {
    const base = binOf(12 * MIN);
    const width = (bins: Record<string, number>) => {
      const model: RunTimeModel = { samples: 10, bins };
      return (quantileMs(model, 0.98) as number) - (quantileMs(model, 0.02) as number);
    };
    const oneBin = width({ [base]: 10 });
    // Drawn in to their spread (half a bin), these read 38 % narrower than the ten in one bin.
    expect(width({ [base]: 9, [base + 1]: 1 })).toBeGreaterThanOrEqual(oneBin * 0.99);
  });

  it("older samples fade: a workspace whose videos got longer is followed", () => {
    let model = train(lognormal("before", 5 * MIN, 0.05), 300);
    const after = lognormal("after", 20 * MIN, 0.05);
    for (let i = 0; i < 300; i++) model = addSample(model, after());
    expect(quantileMs(model, 0.5)).toBeGreaterThan(15 * MIN);
  });

  it("picks the profile's model, else the workspace's, once each has MIN_SAMPLES ends", () => {
    let models = {};
    for (let i = 0; i < MIN_SAMPLES; i++) models = recordRunTime(models, i % 2 ? "a" : undefined, 60_000);
    expect(chooseModel(models, undefined, "a", undefined)?.model).toBe(
      (models as Record<string, RunTimeModel>)[ALL_PROFILES],
    );
    for (let i = 0; i < MIN_SAMPLES; i++) models = recordRunTime(models, "a", 60_000);
    expect(chooseModel(models, undefined, "a", undefined)?.model).toBe((models as Record<string, RunTimeModel>).a);
    expect(chooseModel({}, undefined, "a", undefined)).toBeUndefined();
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
    for (const bad of [undefined, "", "{", "[]", '{"v":3,"models":{}}', '{"v":2,"models":{"a":{"bins":1}}}'])
      expect(parseModels(bad)).toEqual({});
    expect(parseModels('{"v":2,"models":{"a":{"samples":1,"bins":{"x":1,"3":-1,"4":2}}}}').a?.bins).toEqual({ 4: 2 });
  });

  it("reads version 1 documents (5 % bins) into the 1 % bins holding each old bin's middle", () => {
    // 5 s × 1.05^40.5 ≈ 36.1 s: in 1 % bins that is bin 199 (5 s × 1.01^199 ≈ 36.2 s is its end).
    const back = parseModels('{"v":1,"models":{"*":{"samples":3,"bins":{"40":3}}}}');
    const model = back["*"] as RunTimeModel;
    expect(model.samples).toBe(3);
    expect(Object.keys(model.bins)).toEqual([String(binOf(5_000 * 1.05 ** 40.5))]);
    expect(quantileMs(model, 0.5) as number).toBeGreaterThan(33_000);
    expect(quantileMs(model, 0.5) as number).toBeLessThan(39_000);
  });

  it("learns run time per minute of video where the video's length is known", () => {
    let models = {};
    // Runs take 1.5× the video, whatever its length.
    for (let i = 0; i < MIN_SAMPLES; i++) models = recordRunTime(models, "full", 1.5 * (2 + i) * MIN, (2 + i) * MIN);
    const m = models as Record<string, RunTimeModel>;
    expect(m[`${VIDEO_PREFIX}full`]?.samples).toBe(MIN_SAMPLES);
    const perMinute = quantileMs(m[`${VIDEO_PREFIX}full`] as RunTimeModel, 0.5) as number;
    expect(perMinute).toBeGreaterThan(1.45 * MIN);
    expect(perMinute).toBeLessThan(1.55 * MIN);
    // A 10-minute video of that profile: the per-video model, scaled to 10 minutes.
    const chosen = chooseModel(models, undefined, "full", 10 * MIN);
    expect(chosen).toMatchObject({ source: "profile", perVideo: true, scale: 10 });
    // Without a length: the plain run-time model of the profile.
    expect(chooseModel(models, undefined, "full", undefined)).toMatchObject({ perVideo: false, scale: 1 });
  });

  it("a workspace with too few ends of its own uses every workspace's (the relay's), then the prior", () => {
    let relay = {};
    for (let i = 0; i < MIN_SAMPLES; i++) relay = recordRunTime(relay, undefined, 5 * MIN);
    const own = recordRunTime({}, undefined, 5 * MIN);
    expect(chooseModel(own, relay, undefined, undefined)).toMatchObject({ source: "relay" });
    expect(chooseModel(own, {}, undefined, undefined)).toBeUndefined();
  });

  it("a run time: the API's taskRunInfo.responseTime (number or numeric string), else the span the relay saw it end in", () => {
    const estimate = { runningSinceMs: 1_000, lastPolledAtMs: 61_000, nowMs: 71_000 };
    expect(runTimeOf({ taskRunInfo: { responseTime: 123_456 } }, estimate)).toEqual(exactly(123_456));
    expect(runTimeOf({ taskRunInfo: { responseTime: "5000" } }, estimate)).toEqual(exactly(5_000));
    // From the last poll that saw it running to now, both from its start.
    expect(runTimeOf({ taskRunInfo: { responseTime: "soon" } }, estimate)).toEqual({ fromMs: 60_000, toMs: 70_000 });
    expect(runTimeOf({}, estimate)).toEqual({ fromMs: 60_000, toMs: 70_000 });
    // No poll saw it running: it ended at any time since its start.
    expect(runTimeOf({}, { ...estimate, lastPolledAtMs: undefined })).toEqual({ fromMs: 0, toMs: 70_000 });
    expect(runTimeOf({}, { ...estimate, lastPolledAtMs: 500 })).toEqual({ fromMs: 0, toMs: 70_000 });
    expect(runTimeOf({}, { ...estimate, runningSinceMs: undefined })).toBeUndefined();
    expect(runTimeOf({}, { ...estimate, runningSinceMs: 71_000 })).toBeUndefined();
    // Longer than the relay saw it run, beyond how far off its start may be: queue time, not run time.
    expect(runTimeOf({ taskRunInfo: { responseTime: 600_000 } }, estimate, 120_000)).toEqual({
      fromMs: 60_000,
      toMs: 70_000,
    });
    expect(runTimeOf({ taskRunInfo: { responseTime: 150_000 } }, estimate, 120_000)).toEqual(exactly(150_000));
  });

  it("an end known only to lie within a span counts as spread evenly over it, in at most 8 bins", () => {
    const weights = (m: RunTimeModel) => Object.entries(m.bins).map(([bin, w]) => [Number(bin), w] as const);
    const point = weights(addSample(emptyModel, { fromMs: 60_000, toMs: 60_000 }));
    expect(point).toEqual([[binOf(60_000), 1]]);
    const spread = weights(addSample(emptyModel, { fromMs: 0, toMs: 5 * MIN }));
    expect(spread).toHaveLength(8);
    expect(spread.reduce((sum, [, w]) => sum + w, 0)).toBeCloseTo(1, 12);
    // Even in time: an eighth of the weight in each 37.5 s of the five minutes.
    expect(Math.min(...spread.map(([bin]) => bin))).toBe(binOf(37_500 / 2));
    expect(Math.max(...spread.map(([bin]) => bin))).toBe(binOf(5 * MIN - 37_500 / 2));
    // A span within three bins adds three pieces; the model counts one end either way.
    const narrow = addSample(emptyModel, { fromMs: binStart(500), toMs: binEnd(502) - 1 });
    expect(Object.keys(narrow.bins).map(Number)).toEqual([500, 501, 502]);
    expect(narrow.samples).toBe(1);
  });
});
