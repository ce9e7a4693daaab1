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
 * **A learner's floor** (learnerTruths): the same on truths a relay that learns from ends could
 * know at best, which is where the floor sits for learning itself.
 *
 * **Each workspace's floor** (perWorkspaceFloor): the same with every workspace's p95 within the
 * target, and that again at the relay's margins, which together say how much of the distance to
 * the floor is the relay's promise and margins rather than its learning.
 *
 * **The naive poller**: every unfinished task every I seconds from submission, with I the interval
 * at which its p95 detection delay equals the relay's.
 */
import { type EndDistribution, prepare, priceFor, scheduleAtPrice } from "../lib/poll-schedule.js";
import { type Arrival, cdf, support, type Truth } from "./economy-days.js";

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

/**
 * The floor where each workspace's p95, not only the whole day's, must stay within the target: each
 * workspace's tasks priced alone (the floor above lets a workspace whose ends are dear to cover
 * leave more of them late, which a relay serving many workspaces does not promise), optionally at
 * another covered share and gap (the relay's own margins: 96 % of ends, polls at its planned gap,
 * 0.97 × the target and at least 300 ms under it), weighted by each workspace's tasks.
 */
export function perWorkspaceFloor(
  planned: readonly Arrival[],
  truths: readonly Truth[],
  targetMs: number,
  share = 0.95,
): Floor {
  const byWorkspace = new Map<string, Truth[]>();
  planned.forEach((a, i) => {
    const list = byWorkspace.get(a.ws) ?? [];
    list.push(truths[i] as Truth);
    byWorkspace.set(a.ws, list);
  });
  let calls = 0;
  let achievable = 0;
  for (const list of byWorkspace.values()) {
    const f = floorOf(list, targetMs, share);
    calls += f.calls * list.length;
    achievable += f.achievable * list.length;
  }
  return { calls: calls / truths.length, achievable: achievable / truths.length };
}

/**
 * The truths a learner's floor is computed on. A task that started before any task of its group
 * (workspace and profile) had ended cannot be told apart from a task of any other such group: no
 * schedule can use its group's distribution, only one schedule for all of them, so each is given
 * the mixture of their distributions. Every other task is given its group's true distribution, as
 * if one end had taught the learner all of it. The floor on these truths is about what any relay
 * that learns from ends must pay at least: not strictly, since a task still running at its group's
 * first end could be rescheduled then, which this leaves out (44 of 5,000 tasks on the learnable
 * day started before their group's first end).
 *
 * With video lengths given, an uninformed task's length is still known: its mixture is of every
 * uninformed group's run time per minute of video, at its own video's length.
 */
export function learnerTruths(planned: readonly Arrival[], endsMs: readonly number[], hints: boolean): Truth[] {
  const group = (a: Arrival) => `${a.ws}/${a.profile ?? ""}`;
  const firstEnd = new Map<string, number>();
  planned.forEach((a, i) => {
    const g = group(a);
    firstEnd.set(g, Math.min(firstEnd.get(g) ?? Number.POSITIVE_INFINITY, endsMs[i] as number));
  });
  const uninformed = planned.map((a, i) => (endsMs[i] as number) - a.runMs < (firstEnd.get(group(a)) as number));
  // Each uninformed group's share of the uninformed tasks, and what it was drawn from.
  const shares = new Map<string, { weight: number; arrival: Arrival }>();
  planned.forEach((a, i) => {
    if (!uninformed[i]) return;
    const s = shares.get(group(a));
    if (s) s.weight++;
    else shares.set(group(a), { weight: 1, arrival: a });
  });
  const count = uninformed.filter(Boolean).length;
  const perVideo = (a: Arrival, videoMs: number): Truth => {
    const t = a.truthGivenVideo;
    return t.kind === "lognormal" && a.videoMs
      ? { kind: "lognormal", medianMs: (t.medianMs / a.videoMs) * videoMs, sigma: t.sigma }
      : t;
  };
  const mixture: Truth = {
    kind: "mixture",
    parts: [...shares.values()].map(({ weight, arrival }) => ({ weight: weight / count, truth: arrival.truth })),
  };
  return planned.map((a, i) => {
    if (!uninformed[i]) return hints ? a.truthGivenVideo : a.truth;
    if (!hints || a.videoMs === undefined) return mixture;
    const parts = [...shares.values()].map(({ weight, arrival }) => ({
      weight: weight / count,
      truth: perVideo(arrival, a.videoMs as number),
    }));
    return { kind: "mixture", parts };
  });
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
