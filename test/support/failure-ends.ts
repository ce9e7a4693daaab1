/**
 * Ends of tasks of 1–20 min videos whose successes take about half the video, a share failing at
 * fixed run times or scaled alike; models learned from them, and tasks followed on those models
 * against the floor (test/unit/runtimes-failures.test.ts).
 */
import type { Truth } from "../../bench/economy-days.js";
import { floorOf } from "../../bench/floor.js";
import { seededRandom } from "../../dev/seeded-random.js";
import { runningDelayMs } from "../../lib/poll-timing.js";
import { chooseModel, recordRunTime, type WorkspaceModels } from "../../lib/runtimes.js";

export const MIN = 60_000;
export const policy = { targetMs: 10_000, minMs: 1_000, maxMs: 120_000 };
export const FAIL_MS = 20_000;
export const ALL = "*";
export const PROFILE = "p";

export interface End {
  videoMs: number;
  runMs: number;
  failed: boolean;
}

/** Fixed-time failures: at one run time, or of several kinds, each [its share of the failures, run time]. */
export type FailMs = number | ReadonlyArray<readonly [number, number]>;
const kindsOf = (failMs: FailMs) => (typeof failMs === "number" ? [[1, failMs] as const] : failMs);

/** Videos of 1–20 min (to 15 s, so that the floor has few groups), failures at `failMs` or scaled. */
export function ends(
  seed: string,
  failShare: number,
  failures: "fixed" | "scaled",
  failMs: FailMs = FAIL_MS,
): () => End {
  const random = seededRandom(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(Math.max(1e-12, random()))) * Math.cos(2 * Math.PI * random());
  return () => {
    const videoMs = Math.round((MIN * 20 ** random()) / 15_000) * 15_000;
    const failed = random() < failShare;
    let medianMs = videoMs / 2;
    if (failed && failures === "fixed") {
      const kinds = kindsOf(failMs);
      // One kind draws nothing more, so that its seeds' ends are as they were.
      const pick = kinds.length > 1 ? random() : 0;
      let below = 0;
      for (const [share, ms] of kinds) {
        medianMs = ms;
        below += share;
        if (pick < below) break;
      }
    }
    return { videoMs, runMs: medianMs * Math.exp(0.1 * gauss()), failed };
  };
}

export function learned(draw: () => End, n: number, tellFailures = true): WorkspaceModels {
  let models: WorkspaceModels = {};
  for (let i = 0; i < n; i++) {
    const e = draw();
    models = recordRunTime(models, undefined, e.runMs, e.videoMs, tellFailures && e.failed);
  }
  return models;
}

/** 1,500 tasks followed on the learned models: calls against the floor given each video's length, and the p95. */
export function followed(models: WorkspaceModels, draw: () => End, failShare: number, failMs: FailMs = FAIL_MS) {
  let calls = 0;
  const delays: number[] = [];
  const truths: Truth[] = [];
  for (let i = 0; i < 1_500; i++) {
    const e = draw();
    const chosen = chooseModel(models, undefined, undefined, e.videoMs);
    let t = 0;
    while (t < e.runMs) {
      t += runningDelayMs(t, chosen, policy);
      calls++;
    }
    delays.push(t - e.runMs);
    truths.push({
      kind: "mixture",
      parts: [
        ...kindsOf(failMs).map(([share, medianMs]) => ({
          weight: failShare * share,
          truth: { kind: "lognormal" as const, medianMs, sigma: 0.1 },
        })),
        { weight: 1 - failShare, truth: { kind: "lognormal", medianMs: e.videoMs / 2, sigma: 0.1 } },
      ],
    });
  }
  delays.sort((a, b) => a - b);
  return {
    ofFloor: calls / 1_500 / floorOf(truths, policy.targetMs).calls,
    p95: delays[Math.floor(0.95 * delays.length)] as number,
  };
}
