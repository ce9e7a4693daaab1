/**
 * The two baselines of the economy frontier.
 *
 * **The floor**: the fewest API calls per task that any per-task schedule can make so that the
 * p95 of detection delay stays within the target, given the true run-time distribution of each
 * task (what it was drawn from, not when it ended) and its start. Each group of tasks sharing a
 * distribution gets the cheapest schedule for it (lib/poll-schedule.ts: exact on a grid of a tenth
 * of the target); the groups share one price per covered end, found by bisection, so that 95 % of
 * all ends are covered, which is the cheapest way to split the 5 % of late ends between groups. The
 * figure reported is the Lagrangian lower bound at that price, `calls − price · (covered − 0.95)`,
 * which no schedule covering 95 % can beat; the schedule found makes `achievable` calls.
 *
 * **The naive poller**: every unfinished task every I seconds from submission, with I the interval
 * at which its p95 detection delay equals the relay's.
 */
import { type EndDistribution, prepare, priceFor, scheduleAtPrice } from "../lib/poll-schedule.js";
import { cdf, support, type Truth } from "./economy-days.js";

const CELLS_PER_TARGET = 10;

function distribution(truth: Truth, stepMs: number): EndDistribution {
  const { fromMs, toMs } = support(truth);
  const firstCell = Math.floor(fromMs / stepMs);
  const cells = Math.ceil(toMs / stepMs) - firstCell + 1;
  const mass = new Float64Array(cells);
  for (let i = 0; i < cells; i++)
    mass[i] = cdf(truth, (firstCell + i + 1) * stepMs) - cdf(truth, (firstCell + i) * stepMs);
  return { stepMs, mass, firstCell };
}

export interface Floor {
  /** Calls per task no schedule can beat at this p95. */
  readonly calls: number;
  /** Calls per task of the schedules found (at most a step's mass above the bound). */
  readonly achievable: number;
}

/** The floor for tasks with these truths (one per task), p95 within `targetMs`. */
export function floorOf(truths: readonly Truth[], targetMs: number, share = 0.95): Floor {
  const groups = new Map<string, { truth: Truth; weight: number }>();
  for (const truth of truths) {
    const key = JSON.stringify(truth);
    const g = groups.get(key);
    if (g) g.weight++;
    else groups.set(key, { truth, weight: 1 });
  }
  const prepared = [...groups.values()].map((g) => ({
    weight: g.weight / truths.length,
    p: prepare(distribution(g.truth, targetMs / CELLS_PER_TARGET), targetMs),
  }));
  const at = (price: number) => {
    let calls = 0;
    let covered = 0;
    for (const { weight, p } of prepared) {
      const s = scheduleAtPrice(p, price);
      calls += weight * s.expectedCalls;
      covered += weight * s.coveredShare;
    }
    return { calls, covered };
  };
  const price = priceFor((x) => at(x).covered, share);
  const { calls, covered } = at(price);
  return { calls: calls - price * (covered - share), achievable: calls };
}

/** The naive poller at interval `intervalMs` on the tasks' real timelines (submission to end). */
export function naiveAt(lives: ReadonlyArray<{ submittedAtMs: number; endsAtMs: number }>, intervalMs: number) {
  let calls = 0;
  const delaysMs: number[] = [];
  for (const { submittedAtMs, endsAtMs } of lives) {
    const lived = endsAtMs - submittedAtMs;
    calls += Math.floor(lived / intervalMs) + 1;
    delaysMs.push(Math.ceil(lived / intervalMs) * intervalMs - lived);
  }
  return { calls: calls / lives.length, delaysMs };
}

/** The naive poller's interval whose p95 detection delay is `p95Ms` (to within 10 ms). */
export function naiveIntervalFor(
  lives: ReadonlyArray<{ submittedAtMs: number; endsAtMs: number }>,
  p95Ms: number,
  p95: (values: number[]) => number,
): number {
  let lo = 100;
  let hi = Math.max(1_000, 4 * p95Ms);
  while (hi - lo > 10) {
    const mid = (lo + hi) / 2;
    if (p95(naiveAt(lives, mid).delaysMs) <= p95Ms) lo = mid;
    else hi = mid;
  }
  return lo;
}
