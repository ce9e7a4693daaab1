/**
 * The cheapest way to poll one task whose run time follows a known distribution, so that a given
 * share of ends is noticed within the detection target. The relay runs it on what it has learned
 * (lib/runtimes.ts); the economy benchmark runs it on the true distribution, where its answer is
 * the floor no per-task schedule can beat.
 *
 * Time from the task's start is cut into cells of `stepMs` (a tenth of the target, or finer). A
 * poll at time b costs one call if the task is still running after the poll before it (a), that is
 * with probability S(a); it notices the ends in (a, b], and those in [b − target, b] within the
 * target. So a gap shorter than the target never helps (the same cost covers less), and after the
 * first poll every gap is at least the target: a poll at b then covers F(b) − F(b − target), which
 * depends on b alone. Trading calls against covered ends at a price λ,
 *
 *   V(a) = S(a) + min over b ≥ a + target of [ V(b) − λ · (F(b) − F(b − target)) ],
 *
 * is a suffix minimum: one pass over the cells per price. The price is found by bisection as the
 * smallest at which the covered share reaches the goal. On the grid, the schedule found at a price
 * is the cheapest of all that cover as much as it does (a Lagrangian relaxation of "fewest calls
 * with this share covered"); it may cover more than the goal where the price jumps, so it is an
 * upper bound, and calls − price · (covered − goal) a lower bound, on the fewest calls for the goal.
 */

export interface EndDistribution {
  /** Cell width in ms; the target must be a whole number of cells. */
  readonly stepMs: number;
  /**
   * mass[i]: the share of tasks ending in cell firstCell + i, that is in
   * ((firstCell + i)·stepMs, (firstCell + i + 1)·stepMs]; what is missing ends later.
   */
  readonly mass: ArrayLike<number>;
  /** The cells before this one hold no end (they cost nothing to leave out of the arrays). */
  readonly firstCell?: number;
}

export interface Schedule {
  /** When to poll, in ms from the task's start, ascending. */
  readonly pollsMs: readonly number[];
  /** Expected calls per task until its end is seen (within the distribution's horizon). */
  readonly expectedCalls: number;
  /** The share of ends seen within the target. */
  readonly coveredShare: number;
}

interface Prepared {
  readonly k: number;
  readonly firstCell: number;
  readonly n: number;
  readonly stepMs: number;
  /** survival[i]: the share still running at i·stepMs. */
  readonly survival: Float64Array;
  /** cover[b]: the share of ends within the target before a poll at b (after a gap ≥ target). */
  readonly cover: Float64Array;
  /** ended[i]: the share ended by i·stepMs. */
  readonly ended: Float64Array;
}

/** The cells and what a poll at each would cover; shared by every price tried. */
export function prepare(dist: EndDistribution, targetMs: number): Prepared {
  const k = Math.round(targetMs / dist.stepMs);
  if (!(k >= 1) || Math.abs(k * dist.stepMs - targetMs) > 1e-6 * targetMs)
    throw new RangeError(`the target (${targetMs} ms) must be a whole number of cells (${dist.stepMs} ms)`);
  const n = dist.mass.length;
  const cumulative = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) cumulative[i + 1] = (cumulative[i] as number) + Math.max(0, dist.mass[i] as number);
  const survival = new Float64Array(n + 1);
  const cover = new Float64Array(n + 1);
  for (let i = 0; i <= n; i++) {
    survival[i] = Math.max(0, 1 - (cumulative[i] as number));
    cover[i] = (cumulative[i] as number) - (cumulative[Math.max(0, i - k)] as number);
  }
  return { k, firstCell: dist.firstCell ?? 0, n, stepMs: dist.stepMs, survival, cover, ended: cumulative };
}

/** The optimal schedule at one price per covered share (see the header). */
export function scheduleAtPrice(p: Prepared, price: number): Schedule {
  const { k, n, survival, cover } = p;
  // best[b]: min over b' ≥ b of V(b') − price·cover(b'), and where it is reached (the later on ties).
  const best = new Float64Array(n + 2);
  const at = new Int32Array(n + 2);
  best[n + 1] = Number.POSITIVE_INFINITY;
  at[n + 1] = n;
  const ended = p.ended;
  for (let a = n; a >= 1; a--) {
    // Within a target of the horizon, the only poll left is at the horizon, seeing what ends after a.
    const next = a + k <= n ? (best[a + k] as number) : -price * ((ended[n] as number) - (ended[a] as number));
    const value = a === n ? 0 : (survival[a] as number) + next;
    const w = value - price * (cover[a] as number);
    if (w < (best[a + 1] as number)) {
      best[a] = w;
      at[a] = a;
    } else {
      best[a] = best[a + 1] as number;
      at[a] = at[a + 1] as number;
    }
  }
  const pollsMs: number[] = [];
  let calls = 0;
  let covered = 0;
  // The task's start is not a poll: the first poll may come at any cell, and costs one call.
  let prev = -1;
  for (;;) {
    const b = prev < 0 ? (at[1] as number) : prev + k <= n ? (at[prev + k] as number) : n;
    if (b <= prev) break;
    calls += prev < 0 ? 1 : (survival[prev] as number);
    // Only the last poll, at the horizon, may come sooner than the target after the one before.
    covered += prev >= 0 && b - prev < k ? (p.ended[b] as number) - (p.ended[prev] as number) : (cover[b] as number);
    pollsMs.push((p.firstCell + b) * p.stepMs);
    prev = b;
    if (b >= n) break;
  }
  return { pollsMs, expectedCalls: calls, coveredShare: Math.min(1, covered) };
}

/** The price range searched: wide enough for a share of 1e-9 per cell and for a cell of certainty. */
const PRICE_LOW = 1e-3;
const PRICE_HIGH = 1e12;
const BISECTIONS = 64;

/**
 * The smallest price at which `coveredShare(price)` reaches `share`; coveredShare must not fall as
 * the price rises. Shared with the benchmark, which prices many distributions together.
 */
export function priceFor(coveredShare: (price: number) => number, share: number): number {
  if (coveredShare(PRICE_LOW) >= share) return PRICE_LOW;
  let lo = PRICE_LOW;
  let hi = PRICE_HIGH;
  for (let i = 0; i < BISECTIONS; i++) {
    const mid = Math.sqrt(lo * hi);
    if (coveredShare(mid) >= share) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** The fewest expected calls that see `share` of the ends within `targetMs`, and when to poll for it. */
export function cheapestSchedule(dist: EndDistribution, targetMs: number, share: number): Schedule {
  const p = prepare(dist, targetMs);
  return scheduleAtPrice(
    p,
    priceFor((price) => scheduleAtPrice(p, price).coveredShare, share),
  );
}
