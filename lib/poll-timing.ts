/**
 * When to poll a running task, given what was learned of its run time (lib/runtimes.ts): the
 * cheapest schedule (lib/poll-schedule.ts) that, on the learned distribution, notices all but
 * LATE_BUDGET of the ends within the detection target. The economy benchmark computes its floor
 * with the same schedule on the true distribution, so the distance between the two is what
 * learning costs. The learned distribution is one model scaled to the task's video, or with
 * failures at a fixed time (ChosenModel.failures) two parts mixed by their shares: the successes
 * scaled, the failures in run time (mixedDistribution).
 *
 * The schedule's polls are planned at TARGET_SHARE of the target, and at least TARGET_SLACK_MS under
 * it, since a poll lands a little after its due time (at a 5 s target, 0.97 of it left the p95 at
 * 5.05 s on the uniform day; 300 ms under it, 4.77 s). They leave 4 % of ends late rather than the
 * 5 % a p95 allows, for what the model has not seen yet. Gaps before the first likely end are as
 * long as the model says (a task that ends there is among the late few), but never longer than
 * GAP_OF_MAX maximum intervals: a wrong video length, or a model gone stale, costs at most that
 * much delay. Past the last planned poll (a task running longer than any seen) the interval grows
 * with how far past it is, up to the maximum; under a model of fewer than SETTLED_SAMPLES ends, as
 * the prior polls where that is sooner.
 */
import { cheapestSchedule, type EndDistribution, type Schedule } from "./poll-schedule.js";
import { fractionBelowMs, quantileMs, smoothedBins } from "./runtime-density.js";
import { binEnd, binStart, type RunTimeModel } from "./runtime-model.js";
import { type ChosenModel, type FixedTimeFailures, SETTLED_SAMPLES } from "./runtimes.js";

export const LATE_BUDGET = 0.04;
const TARGET_SHARE = 0.97;
/** And at least this much under it: the part of a poll's lateness that does not shrink with the target. */
const TARGET_SLACK_MS = 300;
/** The gap a schedule plans between polls where ends are likely. */
const plannedGapMs = (targetMs: number) => Math.round(Math.min(targetMs * TARGET_SHARE, targetMs - TARGET_SLACK_MS));
/** The schedule's grid: this many cells per target. */
const CELLS_PER_TARGET = 10;
/** Without a trusted model a running task is polled at the target for this long, then less often. */
export const PRIOR_DENSE_MS = 3_600_000;
/** Ends rarer than this (as a share of a bin's weight against the whole) are below the model's noise. */
const NEGLIGIBLE = 1e-7;
/**
 * The schedule stops at the 99.9th percentile, and at most this many times the 95th: past it a task
 * backs off as one running longer than any seen. A few outliers (a task that ran for two days) would
 * otherwise stretch the grid, and with it the time and memory a schedule takes, and leave a gap
 * between the last likely end and the outlier's as long as the outlier.
 */
const HORIZON_QUANTILE = 0.999;
const HORIZON_OF_P95 = 4;
/** No planned gap is longer than this many maximum intervals (20 min by default). */
const GAP_OF_MAX = 10;
/** At most this many cells: coarser cells for long runs at short targets, then a nearer horizon. */
const MAX_CELLS = 50_000;

export interface RunningPolicy {
  readonly targetMs: number;
  readonly minMs: number;
  readonly maxMs: number;
}

/** The polls' spacing where ends are likely: a little under the target. */
export function denseIntervalMs(policy: Pick<RunningPolicy, "targetMs" | "minMs">): number {
  return Math.max(policy.minMs, plannedGapMs(policy.targetMs));
}

/** One part of what a task's run time is planned on: a model, stretched by `scale`, as `share` of the ends. */
interface Part {
  readonly model: RunTimeModel;
  readonly scale: number;
  readonly share: number;
}

/** A chosen model's parts: itself, or its successes scaled to the video beside fixed-time failures. */
function partsOf(model: RunTimeModel, scale: number, failures: FixedTimeFailures | undefined): Part[] {
  if (!failures) return [{ model, scale, share: 1 }];
  return [
    { model, scale, share: 1 - failures.share },
    { model: failures.model, scale: 1, share: failures.share },
  ];
}

/**
 * The model's run times on a grid of `stepMs` cells, stretched by `scale` (run time per model unit),
 * up to `horizonMs`: what ends later is left out (it counts as still running at the horizon).
 */
export function endDistribution(
  model: RunTimeModel,
  stepMs: number,
  scale = 1,
  horizonMs = Number.POSITIVE_INFINITY,
): EndDistribution {
  return mixedDistribution([{ model, scale, share: 1 }], stepMs, horizonMs);
}

function mixedDistribution(parts: readonly Part[], stepMs: number, horizonMs: number): EndDistribution {
  const spans: Array<{ part: Part; bins: Array<{ bin: number; weight: number }>; total: number }> = [];
  let firstCell = Number.POSITIVE_INFINITY;
  let lastCell = Number.NEGATIVE_INFINITY;
  for (const part of parts) {
    const all = smoothedBins(part.model);
    const total = all.reduce((sum, b) => sum + b.weight, 0);
    const bins = all.filter((b) => b.weight >= total * NEGLIGIBLE && binStart(b.bin) * part.scale < horizonMs);
    if (bins.length === 0 || !(part.share > 0)) continue;
    spans.push({ part, bins, total });
    firstCell = Math.min(firstCell, Math.floor((binStart((bins[0] as { bin: number }).bin) * part.scale) / stepMs));
    const endMs = Math.min(horizonMs, binEnd((bins[bins.length - 1] as { bin: number }).bin) * part.scale);
    lastCell = Math.max(lastCell, Math.floor(endMs / stepMs));
  }
  if (spans.length === 0) return { stepMs, mass: [] };
  const mass = new Float64Array(lastCell - firstCell + 1);
  for (const { part, bins, total } of spans) {
    for (const { bin, weight } of bins) {
      // Spread evenly over the bin's span of run time (all of its weight, though cut at the horizon).
      const from = binStart(bin) * part.scale;
      const to = Math.min(horizonMs, binEnd(bin) * part.scale);
      if (!(to > from)) continue;
      const share = (part.share * weight) / total / (binEnd(bin) * part.scale - from);
      for (let cell = Math.floor(from / stepMs); cell * stepMs < to; cell++) {
        const overlap = Math.min(to, (cell + 1) * stepMs) - Math.max(from, cell * stepMs);
        if (overlap > 0) mass[cell - firstCell] = (mass[cell - firstCell] as number) + overlap * share;
      }
    }
  }
  return { stepMs, mass, firstCell };
}

/** The run time below which a share `q` of the parts' ends fall. */
function partsQuantileMs(parts: readonly Part[], q: number): number | undefined {
  const [only] = parts;
  if (parts.length === 1 && only) {
    const at = quantileMs(only.model, q);
    return at === undefined ? undefined : at * only.scale;
  }
  const ends = parts.map((p) => (quantileMs(p.model, 1) ?? 0) * p.scale);
  let lo = 0;
  let hi = Math.max(0, ...ends);
  if (!(hi > 0)) return undefined;
  const below = (ms: number) => parts.reduce((sum, p) => sum + p.share * fractionBelowMs(p.model, ms / p.scale), 0);
  // To a millisecond: 40 halvings of a 48 h span.
  for (let i = 0; i < 40 && hi - lo > 1; i++) {
    const mid = (lo + hi) / 2;
    if (below(mid) < q) lo = mid;
    else hi = mid;
  }
  return Math.round(hi);
}

const scheduleCache = new WeakMap<RunTimeModel, Map<string, Schedule>>();
/** Per model, schedules for this many video lengths at most (the latest kept). */
const SCALES_KEPT = 512;
/** A number per failures model, for the cache's keys. */
const failureIds = new WeakMap<RunTimeModel, number>();
let nextFailureId = 1;

/**
 * The model's schedule at a target (with fixed-time failures beside it, if any); the same model,
 * target, scale and failures give the same object.
 */
export function scheduleFor(model: RunTimeModel, targetMs: number, scale = 1, failures?: FixedTimeFailures): Schedule {
  const plannedMs = plannedGapMs(targetMs);
  // Video lengths to 0.01 %: close enough to share a schedule, few enough to cache.
  const roundedScale = scale === 1 ? 1 : Number(scale.toPrecision(4));
  let failuresKey = "";
  if (failures) {
    let id = failureIds.get(failures.model);
    if (id === undefined) {
      id = nextFailureId++;
      failureIds.set(failures.model, id);
    }
    failuresKey = `/${id}:${failures.share.toPrecision(4)}`;
  }
  const key = `${plannedMs}/${roundedScale}${failuresKey}`;
  let byKey = scheduleCache.get(model);
  const cached = byKey?.get(key);
  if (cached) return cached;
  const parts = partsOf(model, roundedScale, failures);
  const startMs = Math.min(...parts.map((p) => (quantileMs(p.model, 0) ?? 0) * p.scale));
  let horizonMs = Math.max(
    ...parts.map(
      (p) =>
        Math.min(quantileMs(p.model, HORIZON_QUANTILE) ?? 0, HORIZON_OF_P95 * (quantileMs(p.model, 0.95) ?? 0)) *
        p.scale,
    ),
  );
  let cells = CELLS_PER_TARGET;
  while (cells > 1 && (horizonMs - startMs) / (plannedMs / cells) > MAX_CELLS) cells--;
  horizonMs = Math.min(horizonMs, startMs + MAX_CELLS * (plannedMs / cells));
  const schedule = cheapestSchedule(mixedDistribution(parts, plannedMs / cells, horizonMs), plannedMs, 1 - LATE_BUDGET);
  if (!byKey) {
    byKey = new Map();
    scheduleCache.set(model, byKey);
  }
  if (byKey.size >= SCALES_KEPT) byKey.delete(byKey.keys().next().value as string);
  byKey.set(key, schedule);
  return schedule;
}

type Chosen = Pick<ChosenModel, "model" | "scale" | "failures">;
const scheduleOf = (chosen: Chosen, targetMs: number) =>
  scheduleFor(chosen.model, targetMs, chosen.scale, chosen.failures);

/** When a task presumed running since its start is first polled, from that start. */
export function firstPollMs(chosen: Chosen | undefined, policy: RunningPolicy): number {
  if (!chosen) return denseIntervalMs(policy);
  const first = scheduleOf(chosen, policy.targetMs).pollsMs[0] ?? denseIntervalMs(policy);
  return Math.min(GAP_OF_MAX * policy.maxMs, first);
}

/** The first planned poll after `elapsedMs`, if any (binary search). */
function nextPoll(pollsMs: readonly number[], elapsedMs: number): number | undefined {
  let lo = 0;
  let hi = pollsMs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((pollsMs[mid] as number) <= elapsedMs) lo = mid + 1;
    else hi = mid;
  }
  return pollsMs[lo];
}

/**
 * How long to wait before the next poll of a task that has been running for `elapsedMs`: the
 * learned schedule's next poll; past its last, backing off with how far past it is; without a
 * trusted model, the conservative prior: the target for the first hour, then backing off.
 */
export function runningDelayMs(elapsedMs: number, chosen: Chosen | undefined, policy: RunningPolicy): number {
  const dense = denseIntervalMs(policy);
  const tail = (pastMs: number) => Math.min(policy.maxMs, Math.max(dense, Math.round(pastMs / 2)));
  if (!chosen) return elapsedMs < PRIOR_DENSE_MS ? dense : tail(elapsedMs - PRIOR_DENSE_MS);
  const { pollsMs } = scheduleOf(chosen, policy.targetMs);
  const next = nextPoll(pollsMs, elapsedMs);
  if (next !== undefined) return Math.min(GAP_OF_MAX * policy.maxMs, Math.max(policy.minMs, next - elapsedMs));
  const backOff = tail(elapsedMs - (pollsMs[pollsMs.length - 1] ?? 0));
  // A task outliving a model of few ends more likely shows the model wrong than itself long: polled
  // as the prior polls it, where that is sooner than backing off from where the model stopped.
  if (chosen.model.samples < SETTLED_SAMPLES)
    return Math.min(backOff, elapsedMs < PRIOR_DENSE_MS ? dense : tail(elapsedMs - PRIOR_DENSE_MS));
  return backOff;
}

export interface DenseRange {
  readonly fromMs: number;
  readonly toMs: number;
}

/** The stretches of run time whose ends the schedule notices within the target, for people. */
export function denseRanges(chosen: Chosen, targetMs: number): DenseRange[] {
  const plannedMs = plannedGapMs(targetMs);
  const ranges: DenseRange[] = [];
  let last: number | undefined;
  for (const at of scheduleOf(chosen, targetMs).pollsMs) {
    const open = ranges[ranges.length - 1];
    if (open && last !== undefined && at - last <= plannedMs + 1) ranges[ranges.length - 1] = { ...open, toMs: at };
    else ranges.push({ fromMs: Math.max(0, at - plannedMs), toMs: at });
    last = at;
  }
  return ranges;
}

/** A model's figures for people: how many ends, the run time's quartiles and 95th percentile. */
export function describeModel(
  chosen: Chosen,
  targetMs: number,
): {
  samples: number;
  p25Ms: number | null;
  p50Ms: number | null;
  p75Ms: number | null;
  p95Ms: number | null;
  denseMs: DenseRange[];
} {
  const parts = partsOf(chosen.model, chosen.scale, chosen.failures);
  const q = (p: number) => {
    const value = partsQuantileMs(parts, p);
    return value === undefined ? null : Math.round(value);
  };
  return {
    samples: chosen.model.samples + (chosen.failures?.model.samples ?? 0),
    p25Ms: q(0.25),
    p50Ms: q(0.5),
    p75Ms: q(0.75),
    p95Ms: q(0.95),
    denseMs: denseRanges(chosen, targetMs).map((r) => ({
      fromMs: Math.round(r.fromMs),
      toMs: Math.round(r.toMs),
    })),
  };
}
