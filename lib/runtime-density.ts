/**
 * Reading a learned model (lib/runtimes.ts): its ends smoothed into a density — each mode by a
 * Gaussian kernel of Silverman's width, wider while the model is young (a Student-t predictive
 * spread) — and the run times below which a share of them fall.
 */
import { binEnd, binStart, MAX_BIN, type RunTimeModel } from "./runtime-model.js";
import { MIN_SAMPLES, SETTLED_SAMPLES } from "./runtimes.js";

const smoothCache = new WeakMap<RunTimeModel, Array<{ bin: number; weight: number }>>();

/**
 * The model's bins smoothed by a Gaussian kernel of Silverman's width (in bins, at least one): each
 * mode on its own (modesOf) where the ends have more than one.
 */
export function smoothedBins(model: RunTimeModel): Array<{ bin: number; weight: number }> {
  const cached = smoothCache.get(model);
  if (cached) return cached;
  const all = Object.entries(model.bins)
    .map(([bin, weight]) => ({ bin: Number(bin), weight }))
    .filter((b) => b.weight > 0);
  // Bin 0 holds every end under BIN_BASE_MS, a span a hundred 1 % bins wide: smoothed as if it
  // were one of them, its ends were read as lasting 5 s and more (up to 25 s merged into a mode
  // of 20 s failures), and ends of 1–4 s were found at the schedule's later polls (p95 11–14 s
  // at a 10 s target: test/unit/runtimes-failures.test.ts). Its weight stays where it is, spread over 0–5 s as quantileMs reads it.
  const first = all[0]?.bin === 0 ? (all[0] as { bin: number; weight: number }) : undefined;
  const raw = first ? all.slice(1) : all;
  // Counted in ends, not in faded weight: twenty ends weigh 18.2.
  const w = predictiveWidening(model.samples);
  const groups = modesOf(raw, model.samples);
  const rest = groups.length === 1 ? smoothMode(raw, w, true) : groups.flatMap((g) => smoothMode(g, w, false));
  // The kernel's sums weigh more than the ends they came from; beside bin 0 they weigh as many.
  const scale = first ? weightOf(raw) / weightOf(rest) : 1;
  const out = new Map<number, number>(first ? [[0, first.weight]] : []);
  for (const { bin, weight } of rest) out.set(bin, (out.get(bin) ?? 0) + weight * scale);
  const smoothed = [...out].map(([bin, weight]) => ({ bin, weight })).sort((a, b) => a.bin - b.bin);
  smoothCache.set(model, smoothed);
  return smoothed;
}

const weightOf = (bins: Bins) => bins.reduce((sum, b) => sum + b.weight, 0);

type Bins = ReadonlyArray<{ bin: number; weight: number }>;

function spreadOf(raw: Bins) {
  const n = raw.reduce((sum, b) => sum + b.weight, 0);
  const mean = raw.reduce((sum, b) => sum + b.bin * b.weight, 0) / n;
  const sd = Math.sqrt(raw.reduce((sum, b) => sum + (b.bin - mean) ** 2 * b.weight, 0) / n);
  return { n, mean, sd, h: Math.max(1, 1.06 * sd * n ** -0.2) };
}

/** Modes are this many of the whole model's kernel widths apart, at least. */
const MODE_GAP_OF_H = 3;
/** A mode holds at least this share of the weight, and as many ends as a model needs (MIN_SAMPLES). */
const MODE_MIN_SHARE = 0.1;

/**
 * The ends' modes: runs of bins (ascending) with no gap wider than MODE_GAP_OF_H kernel widths,
 * a run too light to be a mode merged into its nearer neighbour. One kernel for all the ends sized
 * by their standard deviation smears two modes (failures within seconds beside successes in
 * minutes) across the gap between them, which the schedule then polls: 3.6–3.8× the floor's calls
 * against 1.18–1.28× from 80 ends with each mode smoothed on its own (test/unit/runtimes-modes.test.ts),
 * each mode then as exact as a one-mode model of as many ends. Ends of one mode, however wide or
 * skewed, have no such gap and are smoothed as before.
 */
export function modesOf(raw: Bins, samples: number): Bins[] {
  if (raw.length < 2) return [raw];
  const { n, h } = spreadOf(raw);
  let groups: Array<Array<{ bin: number; weight: number }>> = [];
  let previous = Number.NEGATIVE_INFINITY;
  for (const b of raw) {
    if (b.bin - previous > MODE_GAP_OF_H * h) groups.push([]);
    groups[groups.length - 1]?.push(b);
    previous = b.bin;
  }
  const minWeight = Math.max(MODE_MIN_SHARE * n, (MIN_SAMPLES * n) / Math.max(1, samples));
  const weightOf = (g: Bins) => g.reduce((sum, b) => sum + b.weight, 0);
  while (groups.length > 1) {
    const light = groups
      .map(weightOf)
      .reduce((at, wgt, i, all) => (wgt < minWeight && (at < 0 || wgt < (all[at] as number)) ? i : at), -1);
    if (light < 0) break;
    const g = groups[light] as Array<{ bin: number; weight: number }>;
    const left = groups[light - 1];
    const right = groups[light + 1];
    const gapLeft = left
      ? (g[0] as { bin: number }).bin - (left.at(-1) as { bin: number }).bin
      : Number.POSITIVE_INFINITY;
    const gapRight = right
      ? (right[0] as { bin: number }).bin - (g.at(-1) as { bin: number }).bin
      : Number.POSITIVE_INFINITY;
    const into = gapLeft <= gapRight ? light - 1 : light + 1;
    const merged = into < light ? [...(groups[into] ?? []), ...g] : [...g, ...(groups[into] ?? [])];
    groups = groups.map((x, i) => (i === into ? merged : x)).filter((_, i) => i !== light);
  }
  return groups;
}

/**
 * One mode smoothed: by Silverman's width, wider while the model is young, then (`drawIn`) drawn
 * back to w × its own spread. A mode beside another keeps the kernel's width instead, as margin for
 * a spread measured from a share of the ends; its weights are scaled to its share of them.
 */
function smoothMode(raw: Bins, w: number, drawIn: boolean): Array<{ bin: number; weight: number }> {
  const { n, mean, sd, h: silverman } = spreadOf(raw);
  if (!(n > 0)) return [];
  const h = Math.max(silverman, sd * Math.sqrt(Math.max(0, w * w - 1)));
  const reach = Math.ceil(3 * h);
  const out = new Map<number, number>();
  for (const { bin, weight } of raw) {
    for (let d = -reach; d <= reach; d++) {
      const b = bin + d;
      if (b < 0 || b > MAX_BIN) continue;
      out.set(b, (out.get(b) ?? 0) + weight * Math.exp(-0.5 * (d / h) ** 2));
    }
  }
  // The kernel's variance adds to the ends': drawn back to w × their spread, and never under one
  // bin, which ends all in one bin or two would otherwise be narrowed to.
  if (drawIn) return narrowed([...out], mean, Math.max(w * sd, 1) / Math.sqrt(sd * sd + h * h));
  const total = [...out.values()].reduce((sum, x) => sum + x, 0);
  return [...out].map(([bin, x]) => ({ bin, weight: (x * n) / total })).sort((a, b) => a.bin - b.bin);
}

/** The 98th percentile of the standard normal: a 96 % share of ends lies within ±Z spreads. */
const Z = 2.054;
/**
 * The 98th percentile of Student's t by degrees of freedom (index), 1 to 19, to 5 figures
 * (test/unit/runtimes.test.ts integrates the density to check them). Exact rather than a series:
 * the Cornish–Fisher expansion this replaced was 12 % under at 2 degrees of freedom (0.943 of
 * new ends inside the middle 96 % at three ends, against 0.957).
 */
export const T98: readonly number[] = [
  Number.NaN,
  15.895,
  4.8487,
  3.4819,
  2.9985,
  2.7565,
  2.6122,
  2.5168,
  2.449,
  2.3984,
  2.3593,
  2.3281,
  2.3027,
  2.2816,
  2.2638,
  2.2485,
  2.2354,
  2.2238,
  2.2137,
  2.2047,
];

/**
 * How much wider than the spread of n ends the next end's is likely to be, where n is too few for
 * their spread to be trusted as it is: the 98th-percentile Student t over Z, times √(1 + 1/n) for
 * the mean's own error and √(n/(n − 1)) for the spread measured about it: 3.3 at three ends, 1.8
 * at five, 1.3 at ten, 1.14 at nineteen. From SETTLED_SAMPLES on, the schedule's own margins
 * (0.97 × the target, 96 % of ends) cover what is left: measured on the learnable day, the p95
 * holds at 9.6 s of 10 without it, and with it the learned schedules cost 2 % more.
 */
export function predictiveWidening(n: number): number {
  if (n >= SETTLED_SAMPLES) return 1;
  const nu = Math.max(1, n - 1);
  return ((T98[nu] as number) / Z) * Math.sqrt(1 + 1 / n) * Math.sqrt(n / nu);
}

/**
 * The smoothed weights drawn towards the data's mean by `factor`, each bin's weight split between
 * the two bins around where it lands. The kernel adds its own variance to the data's, which would
 * widen every schedule by as much (about 8 % at the hundred ends a model remembers, 14 % at twenty);
 * drawn in by w·sd/√(sd² + h²) (smoothedBins: w is 1 once a model is settled, and the result never
 * under one bin), the estimate keeps the spread it should have and the kernel's smoothness (a
 * variance-corrected kernel estimate). A factor of 1 or more leaves the weights where they are.
 */
function narrowed(weights: Array<[number, number]>, mean: number, factor: number) {
  if (factor >= 1) return weights.map(([bin, weight]) => ({ bin, weight })).sort((a, b) => a.bin - b.bin);
  const out = new Map<number, number>();
  for (const [bin, weight] of weights) {
    const at = Math.min(MAX_BIN, Math.max(0, mean + (bin - mean) * factor));
    const low = Math.floor(at);
    const up = at - low;
    out.set(low, (out.get(low) ?? 0) + weight * (1 - up));
    if (up > 0) out.set(low + 1, (out.get(low + 1) ?? 0) + weight * up);
  }
  return [...out].map(([bin, weight]) => ({ bin, weight })).sort((a, b) => a.bin - b.bin);
}

/** The run time below which a share `q` of the model's ends fall (interpolated within a bin). */
export function quantileMs(model: RunTimeModel, q: number): number | undefined {
  const bins = smoothedBins(model);
  const total = bins.reduce((sum, b) => sum + b.weight, 0);
  if (total <= 0) return undefined;
  let below = 0;
  for (const { bin, weight } of bins) {
    if (below + weight >= q * total) {
      const within = (q * total - below) / weight;
      return Math.round(binStart(bin) + within * (binEnd(bin) - binStart(bin)));
    }
    below += weight;
  }
  return Math.round(binEnd((bins[bins.length - 1] as { bin: number }).bin));
}

/** The share of the model's ends under `ms` (interpolated within a bin): quantileMs's inverse. */
export function fractionBelowMs(model: RunTimeModel, ms: number): number {
  const bins = smoothedBins(model);
  const total = bins.reduce((sum, b) => sum + b.weight, 0);
  if (total <= 0) return 0;
  let below = 0;
  for (const { bin, weight } of bins) {
    const from = binStart(bin);
    const to = binEnd(bin);
    if (ms < to) return (below + (ms > from ? (weight * (ms - from)) / (to - from) : 0)) / total;
    below += weight;
  }
  return 1;
}
