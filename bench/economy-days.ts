/**
 * The economy scenario's simulated days: when tasks arrive, in which workspace, how long each runs,
 * and the true distribution each run time was drawn from (what the floor is computed on).
 *
 * - the *simulated day*: run times uniform in 1–30 min, nothing to learn;
 * - the *learnable day*: each workspace analyses videos of a typical length (2–12 min), a task's
 *   run time follows its video's length (±10 % around the typical one) with noise (±4 %), and half
 *   the workspaces submit two kinds of work (profiles) that run 1× and 1.5× as long. The same day
 *   can be run with each task's video length given (`videoDurationSeconds`), which leaves only the
 *   ±4 % noise unknown.
 */
import { seededRandom } from "../dev/seeded-random.js";

export const CONCURRENCIES = [2, 3, 4, 6, 8, 10, 14, 18, 24, 30];
export const MINUTE = 60_000;

export type Day = "uniform" | "learnable";

/**
 * A run-time distribution: uniform in [fromMs, toMs), log-normal with this median and σ, or a
 * mixture of those (weights summing to 1).
 */
export type Truth =
  | { readonly kind: "uniform"; readonly fromMs: number; readonly toMs: number }
  | { readonly kind: "lognormal"; readonly medianMs: number; readonly sigma: number }
  | { readonly kind: "mixture"; readonly parts: ReadonlyArray<{ readonly weight: number; readonly truth: Truth }> };

export interface Arrival {
  readonly atMs: number;
  readonly ws: string;
  readonly runMs: number;
  readonly profile?: string;
  /** The video's length (learnable day). */
  readonly videoMs?: number;
  /** What the run time was drawn from, knowing the workspace and profile. */
  readonly truth: Truth;
  /** ... and knowing the video's length too. */
  readonly truthGivenVideo: Truth;
}

const VIDEO_SPREAD = 0.1;
const NOISE = 0.04;

/** The day's arrivals: a workspace in proportion to its concurrency, so each is about equally busy. */
export function arrivals(day: Day, tasks: number, t0: number, dayMs: number): Arrival[] {
  const random = seededRandom(`economy/${day}`);
  const gauss = () => Math.sqrt(-2 * Math.log(Math.max(1e-12, random()))) * Math.cos(2 * Math.PI * random());
  const typicalMs = CONCURRENCIES.map(() => 2 * MINUTE * 6 ** random());
  const total = CONCURRENCIES.reduce((a, b) => a + b, 0);
  return Array.from({ length: tasks }, (): Arrival => {
    let pick = random() * total;
    let ws = 0;
    while (ws < CONCURRENCIES.length - 1 && pick >= (CONCURRENCIES[ws] as number))
      pick -= CONCURRENCIES[ws++] as number;
    const atMs = t0 + Math.floor(random() * dayMs);
    if (day === "uniform") {
      const truth = { kind: "uniform", fromMs: MINUTE, toMs: 30 * MINUTE } as const;
      return {
        atMs,
        ws: `llm-day-${ws}`,
        runMs: MINUTE + Math.floor(random() * 29 * MINUTE),
        truth,
        truthGivenVideo: truth,
      };
    }
    const twoKinds = ws % 2 === 1;
    const factor = twoKinds && random() < 0.5 ? 1.5 : 1;
    const videoMs = Math.round((typicalMs[ws] as number) * Math.exp(VIDEO_SPREAD * gauss()));
    const runMs = Math.round(videoMs * factor * Math.exp(NOISE * gauss()));
    return {
      atMs,
      ws: `llm-day-${ws}`,
      runMs,
      videoMs,
      ...(twoKinds ? { profile: factor > 1 ? "full" : "fast" } : {}),
      truth: {
        kind: "lognormal",
        medianMs: (typicalMs[ws] as number) * factor,
        sigma: Math.hypot(VIDEO_SPREAD, NOISE),
      },
      truthGivenVideo: { kind: "lognormal", medianMs: videoMs * factor, sigma: NOISE },
    };
  }).sort((a, b) => a.atMs - b.atMs);
}

/** P(run time ≤ ms) under a truth. */
export function cdf(truth: Truth, ms: number): number {
  if (truth.kind === "mixture") return truth.parts.reduce((sum, p) => sum + p.weight * cdf(p.truth, ms), 0);
  if (truth.kind === "uniform") return Math.min(1, Math.max(0, (ms - truth.fromMs) / (truth.toMs - truth.fromMs)));
  return ms <= 0 ? 0 : 0.5 * (1 + erf(Math.log(ms / truth.medianMs) / (truth.sigma * Math.SQRT2)));
}

/** Where a truth's ends lie, to within 1e-7 of them on each side. */
export function support(truth: Truth): { fromMs: number; toMs: number } {
  if (truth.kind === "mixture") {
    const each = truth.parts.map((p) => support(p.truth));
    return { fromMs: Math.min(...each.map((s) => s.fromMs)), toMs: Math.max(...each.map((s) => s.toMs)) };
  }
  if (truth.kind === "uniform") return truth;
  return { fromMs: truth.medianMs * Math.exp(-5.3 * truth.sigma), toMs: truth.medianMs * Math.exp(5.3 * truth.sigma) };
}

function erf(x: number): number {
  // Abramowitz and Stegun 7.1.26 (error under 1.5e-7).
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return x >= 0 ? y : -y;
}
