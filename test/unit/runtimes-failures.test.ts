/**
 * Failures at a fixed run time beside successes that scale with the video: a URL that cannot be
 * fetched fails in seconds whatever the video's length, while the analysis itself takes about half
 * the video. Such failures are planned in run time, the successes per minute of video.
 */
import { describe, expect, it } from "vitest";
import { seededRandom } from "../../dev/seeded-random.js";
import { describeModel, runningDelayMs, scheduleFor } from "../../lib/poll-timing.js";
import { addSample, emptyModel, fade, type RunTimeModel, type RunTimeSpan, slopeOf } from "../../lib/runtime-model.js";
import {
  chooseModel,
  FAILED_PREFIX,
  MAX_PROFILES,
  parseModels,
  recordRunTime,
  runTimeOf,
  serializeModels,
  VIDEO_PREFIX,
  type WorkspaceModels,
} from "../../lib/runtimes.js";
import { ALL, ends, FAIL_MS, followed, learned, MIN, PROFILE, policy } from "../support/failure-ends.js";

const weight = (m: RunTimeModel | undefined) => Object.values(m?.bins ?? {}).reduce((sum, w) => sum + w, 0);

describe("failures at a fixed time beside successes scaled to the video", () => {
  it.each([0.05, 0.2, 0.3])(
    "%s of tasks failing at ~20 s, 300 ends learned: every seed's p95 at the target, under 1.25× the floor",
    (share) => {
      let followedSeeds = 0;
      for (let s = 0; s < 4; s++) {
        const models = learned(ends(`train-${share}-${s}`, share, "fixed"), 300);
        // Too few failures to be planned apart (under ten) leave the video model as it was.
        if ((models[FAILED_PREFIX + ALL]?.samples ?? 0) < 10) continue;
        expect(chooseModel(models, undefined, undefined, 5 * MIN)?.failures).toBeDefined();
        const { ofFloor, p95 } = followed(models, ends(`test-${share}-${s}`, share, "fixed"), share);
        // Measured: 1.03–1.22× the floor, p95 9.4–10.2 s (the one over: 15 failures of 300 ends,
        // whose share is known to a few points). Learned blind, the next test: p95 over 30 s.
        expect(p95).toBeLessThanOrEqual(1.05 * policy.targetMs);
        expect(ofFloor).toBeLessThan(1.25);
        followedSeeds++;
      }
      expect(followedSeeds).toBeGreaterThanOrEqual(3);
    },
  );

  it.each([2_000, 5_000, 8_000])(
    "failures at ~%s ms, under 5 s or crowded there per minute of a long video, are planned apart too",
    (failMs) => {
      // By the two histograms' spreads, bin 0 (every value under 5 s) hid these: 2 and 5 s never
      // planned apart, 8 s in 2 seeds of 3 (p95 52 s in the third).
      for (let s = 0; s < 3; s++) {
        const models = learned(ends(`short-${failMs}-${s}`, 0.2, "fixed", failMs), 300);
        expect(chooseModel(models, undefined, undefined, 5 * MIN)?.failures).toBeDefined();
        const { ofFloor, p95 } = followed(models, ends(`short-test-${s}`, 0.2, "fixed", failMs), 0.2, failMs);
        expect(p95).toBeLessThanOrEqual(policy.targetMs);
        expect(ofFloor).toBeLessThan(1.25);
      }
    },
  );

  it("failures of tasks without a video length are not counted: they cannot tell fixed from scaled", () => {
    // Tasks without a video length fail at ~20 s; those with one fail somewhere in their run.
    const random = seededRandom("no-video");
    let models: WorkspaceModels = {};
    for (let i = 0; i < 400; i++) {
      if (random() < 0.5) {
        const failed = random() < 0.5;
        models = recordRunTime(models, undefined, failed ? FAIL_MS : 4 * MIN, undefined, failed);
      } else {
        const videoMs = MIN * 20 ** random();
        const failed = random() < 0.2;
        models = recordRunTime(
          models,
          undefined,
          (videoMs / 2) * (failed ? 0.05 + 0.95 * random() : 1),
          videoMs,
          failed,
        );
      }
    }
    expect(models[FAILED_PREFIX + ALL]?.samples).toBeGreaterThan(30);
    expect(slopeOf(models[FAILED_PREFIX + ALL]?.fit)).toBeGreaterThan(0.7);
    expect(chooseModel(models, undefined, undefined, 5 * MIN)?.failures).toBeUndefined();
  });

  it("learned in a closed loop without the API's run times: failures at 5 s are still told fixed and planned apart", () => {
    // Each end is known only within the gap before the poll that saw it (runTimeOf), and the gaps
    // follow the schedule learned so far. Fitting every such end, the slope read 0.7 where the
    // schedule scaled with the video, for good: p95 54–79 s. Only closely timed ends are fitted.
    for (const [failMs, fixed] of [
      [5_000, true],
      [20_000, true],
      [0, false],
    ] as const) {
      for (let s = 0; s < 2; s++) {
        const random = seededRandom(`loop-${failMs}-${s}`);
        const gauss = () => Math.sqrt(-2 * Math.log(Math.max(1e-12, random()))) * Math.cos(2 * Math.PI * random());
        let models: WorkspaceModels = {};
        const lags: number[] = [];
        for (let i = 0; i < 1_000; i++) {
          const videoMs = Math.round((MIN * 20 ** random()) / 15_000) * 15_000;
          const failed = random() < 0.2;
          const runMs = (failed && fixed ? failMs : videoMs / 2) * Math.exp(0.1 * gauss());
          const chosen = chooseModel(models, undefined, undefined, videoMs);
          let t = 0;
          let before: number | undefined;
          while (t < runMs) {
            before = t;
            t += runningDelayMs(t, chosen, policy);
          }
          const span = runTimeOf({}, { runningSinceMs: 0, lastPolledAtMs: before, nowMs: t });
          models = recordRunTime(models, undefined, span as RunTimeSpan, videoMs, failed);
          if (i >= 500) lags.push(t - runMs);
        }
        lags.sort((a, b) => a - b);
        expect(chooseModel(models, undefined, undefined, 5 * MIN)?.failures !== undefined).toBe(fixed);
        expect(lags[Math.floor(0.95 * lags.length)]).toBeLessThanOrEqual(policy.targetMs);
      }
    }
  });

  it("a young profile, trusted from ten ends but with few failures yet, is planned on its workspace's failures", () => {
    const draw = (seed: string, profile: string) => {
      const next = ends(seed, 0.2, "fixed");
      return () => ({ ...next(), profile });
    };
    let models: WorkspaceModels = {};
    const a = draw("profile-a", "a");
    for (let i = 0; i < 300; i++) {
      const e = a();
      models = recordRunTime(models, e.profile, e.runMs, e.videoMs, e.failed);
    }
    const b = draw("profile-b", "b");
    for (let i = 0; i < 25; i++) {
      const e = b();
      models = recordRunTime(models, e.profile, e.runMs, e.videoMs, e.failed);
    }
    expect(models[`${FAILED_PREFIX}b`]?.samples ?? 0).toBeLessThan(10);
    const chosen = chooseModel(models, undefined, "b", 5 * MIN);
    expect(chosen?.source).toBe("profile");
    expect(chosen?.failures?.model).toBe(models[FAILED_PREFIX + ALL]);
    // Its successes are its own, less its own failures.
    expect(chosen?.model.samples).toBe(25 - (models[`${FAILED_PREFIX}${VIDEO_PREFIX}b`]?.samples ?? 0));
  });

  it.each([
    [0.5, 2_000],
    [0.25, 3_500],
    [0.75, 1_000],
  ])(
    "a share %s of the failures under 5 s (at ~%s ms), the rest at ~20 s: each kind found within the target",
    (fast, fastMs) => {
      // Bin 0 (every run time under 5 s) was smoothed as one 1 % bin beside the 20 s ones and
      // drawn towards them: the fast failures were read as 5–25 s and polled first at ~15 s, a p95
      // of 11.1–13.6 s in a seed of each case here. Measured since: 9.2–9.6 s, 1.08–1.27× the floor.
      const kinds = [
        [fast, fastMs],
        [1 - fast, FAIL_MS],
      ] as const;
      for (let s = 0; s < 4; s++) {
        const models = learned(ends(`fast-${fastMs}-${s}`, 0.2, "fixed", kinds), 300);
        expect(chooseModel(models, undefined, undefined, 5 * MIN)?.failures).toBeDefined();
        const { ofFloor, p95 } = followed(models, ends(`fast-test-${fastMs}-${s}`, 0.2, "fixed", kinds), 0.2, kinds);
        expect(p95).toBeLessThanOrEqual(policy.targetMs);
        expect(ofFloor).toBeLessThan(1.3);
      }
    },
  );

  it("failures that stopped are, once under a hundredth of the ends, no longer planned apart", () => {
    let models = learned(ends("stopped", 0.2, "fixed"), 300);
    expect(chooseModel(models, undefined, undefined, 5 * MIN)?.failures).toBeDefined();
    const successes = ends("stopped-on", 0, "fixed");
    for (let i = 0; i < 400; i++) {
      const e = successes();
      models = recordRunTime(models, undefined, e.runMs, e.videoMs, false);
    }
    expect(chooseModel(models, undefined, undefined, 5 * MIN)?.failures).toBeUndefined();
  });

  it("without them (every end learned alike, as before), a fifth failing at ~20 s costs three times the floor's calls", () => {
    const models = learned(ends("train-blind", 0.2, "fixed"), 300, false);
    expect(chooseModel(models, undefined, undefined, 5 * MIN)?.failures).toBeUndefined();
    const { ofFloor } = followed(models, ends("test-blind", 0.2, "fixed"), 0.2);
    // Measured: 3.6× (told apart, 1.1–1.2×). Before bin 0 kept its weight under 5 s, the failures'
    // 1–5 s per minute of a long video were read as more and missed: p95 44 s.
    expect(ofFloor).toBeGreaterThan(2.5);
  });

  it("failures that scale with the video as the successes do stay in the video model: the schedule is unchanged", () => {
    const draw = ends("scaled", 0.2, "scaled");
    let told: WorkspaceModels = {};
    let blind: WorkspaceModels = {};
    for (let i = 0; i < 300; i++) {
      const e = draw();
      told = recordRunTime(told, undefined, e.runMs, e.videoMs, e.failed);
      blind = recordRunTime(blind, undefined, e.runMs, e.videoMs);
    }
    const chosen = chooseModel(told, undefined, undefined, 5 * MIN);
    expect(chosen?.failures).toBeUndefined();
    expect(chosen?.model).toBe(told[VIDEO_PREFIX + ALL]);
    expect(scheduleFor(chosen?.model as RunTimeModel, policy.targetMs, 5).pollsMs).toEqual(
      scheduleFor(blind[VIDEO_PREFIX + ALL] as RunTimeModel, policy.targetMs, 5).pollsMs,
    );
  });

  it("a key's failures fade at each of its ends: their weight is the recent share, and the rest is the successes exactly", () => {
    const draw = ends("fade", 0.25, "fixed");
    let models: WorkspaceModels = {};
    let successes = emptyModel;
    let failed = 0;
    for (let i = 0; i < 80; i++) {
      const e = draw();
      models = recordRunTime(models, PROFILE, e.runMs, e.videoMs, e.failed);
      // The successes alone, faded at every end as their key's model is.
      if (e.failed) {
        failed++;
        successes = fade(successes);
      } else successes = addSample(successes, (e.runMs * MIN) / e.videoMs);
    }
    expect(models[FAILED_PREFIX + PROFILE]?.samples).toBe(failed);
    expect(models[FAILED_PREFIX + VIDEO_PREFIX + PROFILE]?.samples).toBe(failed);
    const share = weight(models[FAILED_PREFIX + VIDEO_PREFIX + ALL]) / weight(models[VIDEO_PREFIX + ALL]);
    expect(share).toBeGreaterThan(0.15);
    expect(share).toBeLessThan(0.35);
    const chosen = chooseModel(models, undefined, PROFILE, 5 * MIN);
    expect(chosen?.source).toBe("profile");
    expect(chosen?.failures?.model).toBe(models[FAILED_PREFIX + PROFILE]);
    expect(chosen?.failures?.share).toBeCloseTo(share, 9);
    const split = chosen?.model as RunTimeModel;
    expect(split.samples).toBe(80 - failed);
    expect(Object.keys(split.bins).sort()).toEqual(Object.keys(successes.bins).sort());
    for (const [bin, w] of Object.entries(successes.bins)) expect(split.bins[bin]).toBeCloseTo(w, 9);
  });

  it("a task's figures are of both: a quarter failing at ~20 s puts the 25th percentile there, the median at half the video", () => {
    const models = learned(ends("figures", 0.3, "fixed"), 300);
    const chosen = chooseModel(models, undefined, undefined, 10 * MIN);
    const figures = describeModel(chosen as NonNullable<typeof chosen>, policy.targetMs);
    expect(figures.p25Ms).toBeLessThan(1.3 * FAIL_MS);
    expect(figures.p50Ms).toBeGreaterThan(4 * MIN);
    expect(figures.p50Ms).toBeLessThan(6 * MIN);
    // Polled at the target around 20 s and around 5 min, not in between.
    expect(figures.denseMs[0]?.fromMs).toBeLessThan(FAIL_MS);
    expect(figures.denseMs.some((r) => r.fromMs < 2 * MIN && r.toMs > 2 * MIN)).toBe(false);
  });

  it("tells fixed from scaled by how run time grows with the video: slope about 0 and about 1, none where all are alike", () => {
    const fixed = learned(ends("slope-fixed", 0.3, "fixed"), 300);
    const scaled = learned(ends("slope-scaled", 0.3, "scaled"), 300);
    expect(Math.abs(slopeOf(fixed[FAILED_PREFIX + ALL]?.fit) as number)).toBeLessThan(0.1);
    expect(slopeOf(scaled[FAILED_PREFIX + ALL]?.fit)).toBeGreaterThan(0.9);
    expect(slopeOf(scaled[FAILED_PREFIX + ALL]?.fit)).toBeLessThan(1.1);
    // Videos all of a length: nothing to tell, and failures are read as before.
    let alike: WorkspaceModels = {};
    for (let i = 0; i < 60; i++)
      alike = recordRunTime(alike, undefined, i % 4 === 0 ? FAIL_MS : 2 * MIN, 4 * MIN, i % 4 === 0);
    expect(slopeOf(alike[FAILED_PREFIX + ALL]?.fit)).toBeUndefined();
    expect(chooseModel(alike, undefined, undefined, 4 * MIN)?.failures).toBeUndefined();
  });

  it("lengths that vary little beside two kinds of work: a slope the ends do not pin down is not believed", () => {
    // As on the benchmark's learnable day with video lengths: lengths within ~12 %, half the tasks
    // taking 1.5× as long, a twentieth failing, scaling as successes do (a few failures' weight
    // among the last hundred ends). Believed, such slopes (0–0.45 here)
    // planned the failures apart and cost 4.99 calls per task there against 4.34.
    let believedWrongly = 0;
    let lowSlopes = 0;
    for (let s = 0; s < 24; s++) {
      const random = seededRandom(`two-kinds-${s}`);
      const gauss = () => Math.sqrt(-2 * Math.log(Math.max(1e-12, random()))) * Math.cos(2 * Math.PI * random());
      let models: WorkspaceModels = {};
      for (let i = 0; i < 300; i++) {
        const videoMs = 5 * MIN * Math.exp(0.12 * gauss());
        const runMs = videoMs * (random() < 0.5 ? 1.5 : 1) * Math.exp(0.04 * gauss());
        models = recordRunTime(models, undefined, runMs, videoMs, random() < 0.05);
      }
      if ((slopeOf(models[FAILED_PREFIX + ALL]?.fit) ?? 1) < 0.5) lowSlopes++;
      if (chooseModel(models, undefined, undefined, 5 * MIN)?.failures) believedWrongly++;
    }
    expect(lowSlopes).toBeGreaterThan(0);
    expect(believedWrongly).toBe(0);
  });

  it("is stored apart from the models, where an older relay, which would take them for profiles, never reads them", () => {
    const models = learned(ends("stored", 0.3, "fixed"), 120);
    const text = serializeModels(models);
    const document = JSON.parse(text) as { models: Record<string, unknown>; failed: Record<string, unknown> };
    expect(Object.keys(document.models).some((k) => k.startsWith(FAILED_PREFIX))).toBe(false);
    expect(Object.keys(document.failed).sort()).toEqual([ALL, VIDEO_PREFIX + ALL].sort());
    const back = parseModels(text);
    expect(back[FAILED_PREFIX + ALL]?.fit?.map((v) => Number(v.toPrecision(8)))).toEqual(
      models[FAILED_PREFIX + ALL]?.fit?.map((v) => Number(v.toPrecision(8))),
    );
    expect(chooseModel(back, undefined, undefined, 5 * MIN)?.failures?.share).toBeCloseTo(
      chooseModel(models, undefined, undefined, 5 * MIN)?.failures?.share as number,
      3,
    );
    // A hostile or broken fit is no fit; failures of a model the document does not hold are dropped.
    for (const fit of [[0, 1, 1, 1, 1, 1], [1e-300, 1e300, 0, 1e308, 1e308, 0], [1, 2, 3], "x"]) {
      const bad = JSON.parse(text);
      bad.failed[ALL].fit = fit;
      const read = parseModels(JSON.stringify(bad));
      expect(slopeOf(read[FAILED_PREFIX + ALL]?.fit)).toBeUndefined();
      expect(chooseModel(read, undefined, undefined, 5 * MIN)?.failures).toBeUndefined();
    }
    const orphans = JSON.parse(text);
    for (let i = 0; i < 1_000; i++) orphans.failed[`orphan-${i}`] = orphans.failed[ALL];
    expect(Object.keys(parseModels(JSON.stringify(orphans))).length).toBe(Object.keys(back).length);
    // Rewritten by an older relay (the models alone): no failures, so planned as before.
    const older = parseModels(JSON.stringify({ v: 2, models: document.models }));
    expect(chooseModel(older, undefined, undefined, 5 * MIN)?.failures).toBeUndefined();
  });

  it("is stored, and a profile dropped for MAX_PROFILES takes its failures with it", () => {
    let models: WorkspaceModels = {};
    for (let i = 0; i <= MAX_PROFILES; i++) models = recordRunTime(models, `p${i}`, 30_000, MIN, true);
    expect(Object.keys(models).filter((k) => k.endsWith("p0"))).toEqual([]);
    expect(models[`${FAILED_PREFIX}${VIDEO_PREFIX}p${MAX_PROFILES}`]?.samples).toBe(1);
    const back = parseModels(serializeModels(models));
    expect(Object.keys(back).sort()).toEqual(Object.keys(models).sort());
    // Keys: "*", each profile, each behind VIDEO_PREFIX, and all of those again behind FAILED_PREFIX.
    expect(Object.keys(models).length).toBe(4 * (MAX_PROFILES + 1));
  });
});
