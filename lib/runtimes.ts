/**
 * Learned run times, and when to poll a running task given them. Pure functions: the run keeps the
 * models (lib/runtime-stats.ts) and the poll policy asks here for the next interval.
 *
 * A model is a histogram of how long tasks ran, over log-spaced bins (5 % wide), older samples
 * fading (weight × 0.99 per new one) so that the model follows a workspace whose videos change.
 * It is read through a kernel density estimate: each bin spread by a Gaussian as wide as
 * Silverman's rule gives for the data's own spread and count, so that thirty samples of a broad
 * distribution leave no empty stretch inside it (an empty bin would read as "no end happens
 * here"), while hundreds of samples of a narrow one keep it narrow. Learned per workspace, and per profile (the kind of work, e.g. its generateOptions)
 * where the task has one.
 *
 * When to poll follows from what a poll buys: a poll at interval Δ notices an end within Δ, and
 * costs one call for every task still running. Catching the ends near elapsed time t costs about
 * S(t)·width / mass (S the share still running): cheap where ends are dense, dear where they are
 * rare. So the bins where catching is dearest, up to LATE_BUDGET of all ends, are left *sparse*
 * (polled at the maximum interval, or at the start of the next dense stretch), and the rest are
 * *dense* (polled at the detection target). With 97 % of ends caught within the target, the 95th
 * percentile of detection delay stays under it whenever the model is right.
 */

export const BIN_BASE_MS = 5_000;
export const BIN_RATIO = 1.05;
/** Bins cover up to 48 h; longer runs fall in the last one. */
export const MAX_BIN = Math.ceil(Math.log((48 * 3_600_000) / BIN_BASE_MS) / Math.log(BIN_RATIO));
/** A model needs this many ends before it is trusted; until then the next level up, or the prior. */
export const MIN_SAMPLES = 20;
/** Each new end weighs this much more than the one before: the model remembers about 100 ends. */
const DECAY = 0.99;
/** The share of ends that may be caught later than the target: under 5 %, so p95 holds with room. */
export const LATE_BUDGET = 0.03;
/** Dense polling runs at this share of the target: a poll lands a little after its due time. */
const DENSE_SHARE = 0.9;
/** Without a trusted model a running task is polled at the target for this long, then less often. */
export const PRIOR_DENSE_MS = 3_600_000;

export interface RunTimeModel {
  /** Ends recorded (not decayed). */
  readonly samples: number;
  /** Bin index → decayed weight. */
  readonly bins: Readonly<Record<string, number>>;
}

/** A workspace's models: "*" is every task of the workspace, other keys one profile each. */
export type WorkspaceModels = Readonly<Record<string, RunTimeModel>>;
export const ALL_PROFILES = "*";

export const emptyModel: RunTimeModel = { samples: 0, bins: {} };

export function binOf(ms: number): number {
  if (!(ms > BIN_BASE_MS)) return 0;
  return Math.min(MAX_BIN, Math.floor(Math.log(ms / BIN_BASE_MS) / Math.log(BIN_RATIO)));
}

const binStartMs = (bin: number) => (bin === 0 ? 0 : BIN_BASE_MS * BIN_RATIO ** bin);
const binEndMs = (bin: number) => BIN_BASE_MS * BIN_RATIO ** (bin + 1);

export function addSample(model: RunTimeModel, runMs: number): RunTimeModel {
  const bins: Record<string, number> = {};
  for (const [bin, weight] of Object.entries(model.bins)) {
    const faded = weight * DECAY;
    if (faded >= 1e-3) bins[bin] = faded;
  }
  const bin = binOf(runMs);
  bins[bin] = (bins[bin] ?? 0) + 1;
  return { samples: model.samples + 1, bins };
}

const smoothCache = new WeakMap<RunTimeModel, Array<{ bin: number; weight: number }>>();

/** The model's bins smoothed by a Gaussian kernel of Silverman's width (in bins, at least one). */
function sortedBins(model: RunTimeModel): Array<{ bin: number; weight: number }> {
  const cached = smoothCache.get(model);
  if (cached) return cached;
  const raw = Object.entries(model.bins)
    .map(([bin, weight]) => ({ bin: Number(bin), weight }))
    .filter((b) => b.weight > 0);
  const n = raw.reduce((sum, b) => sum + b.weight, 0);
  let smoothed: Array<{ bin: number; weight: number }> = [];
  if (n > 0) {
    const mean = raw.reduce((sum, b) => sum + b.bin * b.weight, 0) / n;
    const sd = Math.sqrt(raw.reduce((sum, b) => sum + (b.bin - mean) ** 2 * b.weight, 0) / n);
    const h = Math.max(1, 1.06 * sd * n ** -0.2);
    const reach = Math.ceil(3 * h);
    const out = new Map<number, number>();
    for (const { bin, weight } of raw) {
      for (let d = -reach; d <= reach; d++) {
        const b = bin + d;
        if (b < 0 || b > MAX_BIN) continue;
        out.set(b, (out.get(b) ?? 0) + weight * Math.exp(-0.5 * (d / h) ** 2));
      }
    }
    smoothed = [...out].map(([bin, weight]) => ({ bin, weight })).sort((a, b) => a.bin - b.bin);
  }
  smoothCache.set(model, smoothed);
  return smoothed;
}

/** The run time below which a share `q` of the model's ends fall (interpolated within a bin). */
export function quantileMs(model: RunTimeModel, q: number): number | undefined {
  const bins = sortedBins(model);
  const total = bins.reduce((sum, b) => sum + b.weight, 0);
  if (total <= 0) return undefined;
  let below = 0;
  for (const { bin, weight } of bins) {
    if (below + weight >= q * total) {
      const within = (q * total - below) / weight;
      return Math.round(binStartMs(bin) + within * (binEndMs(bin) - binStartMs(bin)));
    }
    below += weight;
  }
  return Math.round(binEndMs((bins[bins.length - 1] as { bin: number }).bin));
}

export interface DenseRange {
  readonly fromMs: number;
  readonly toMs: number;
}

const rangeCache = new WeakMap<RunTimeModel, readonly DenseRange[]>();

/** The stretches of elapsed run time to poll densely (see the header), in order. */
export function denseRanges(model: RunTimeModel, lateBudget = LATE_BUDGET): readonly DenseRange[] {
  const cached = lateBudget === LATE_BUDGET ? rangeCache.get(model) : undefined;
  if (cached) return cached;
  const bins = sortedBins(model);
  const total = bins.reduce((sum, b) => sum + b.weight, 0);
  let survival = 1;
  const scored = bins.map(({ bin, weight }) => {
    const mass = weight / total;
    const cost = (survival * (binEndMs(bin) - binStartMs(bin))) / mass;
    survival -= mass;
    return { bin, mass, cost };
  });
  const sparse = new Set<number>();
  let late = 0;
  for (const b of [...scored].sort((x, y) => y.cost - x.cost)) {
    if (late + b.mass > lateBudget) break;
    late += b.mass;
    sparse.add(b.bin);
  }
  const ranges: DenseRange[] = [];
  for (const { bin } of scored) {
    if (sparse.has(bin)) continue;
    const last = ranges[ranges.length - 1];
    const fromMs = binStartMs(bin);
    if (last && Math.abs(last.toMs - fromMs) < 1)
      ranges[ranges.length - 1] = { fromMs: last.fromMs, toMs: binEndMs(bin) };
    else ranges.push({ fromMs, toMs: binEndMs(bin) });
  }
  if (lateBudget === LATE_BUDGET) rangeCache.set(model, ranges);
  return ranges;
}

/** The model to trust for a task: its profile's, else its workspace's, else none (the prior). */
export function modelFor(models: WorkspaceModels | undefined, profile: string | undefined): RunTimeModel | undefined {
  if (!models) return undefined;
  const own = profile === undefined ? undefined : models[profile];
  if (own && own.samples >= MIN_SAMPLES) return own;
  const all = models[ALL_PROFILES];
  return all && all.samples >= MIN_SAMPLES ? all : undefined;
}

export interface RunningPolicy {
  readonly targetMs: number;
  readonly minMs: number;
  readonly maxMs: number;
}

/**
 * How long to wait before the next poll of a task that has been running for `elapsedMs`. Dense
 * stretches: a little under the target. Before one: until it starts (at most the maximum
 * interval). Past every stretch (a task running longer than any seen): backing off with how far
 * past it is. Without a trusted model, the conservative prior: the target for the first hour.
 */
export function runningDelayMs(elapsedMs: number, model: RunTimeModel | undefined, policy: RunningPolicy): number {
  const dense = Math.max(policy.minMs, Math.round(policy.targetMs * DENSE_SHARE));
  const tail = (pastMs: number) => Math.min(policy.maxMs, Math.max(dense, Math.round(pastMs / 2)));
  if (!model) return elapsedMs < PRIOR_DENSE_MS ? dense : tail(elapsedMs - PRIOR_DENSE_MS);
  const ranges = denseRanges(model);
  for (const range of ranges) {
    if (elapsedMs < range.fromMs) return Math.min(policy.maxMs, Math.max(policy.minMs, range.fromMs - elapsedMs));
    if (elapsedMs < range.toMs) return dense;
  }
  const last = ranges[ranges.length - 1];
  return tail(last ? elapsedMs - last.toMs : elapsedMs);
}

/** A model's figures for people: how many ends, and the run time's quartiles and 95th percentile. */
export function describeModel(model: RunTimeModel): {
  samples: number;
  p25Ms: number | null;
  p50Ms: number | null;
  p75Ms: number | null;
  p95Ms: number | null;
  denseMs: DenseRange[];
} {
  const q = (p: number) => quantileMs(model, p) ?? null;
  return {
    samples: model.samples,
    p25Ms: q(0.25),
    p50Ms: q(0.5),
    p75Ms: q(0.75),
    p95Ms: q(0.95),
    denseMs: denseRanges(model).map((r) => ({ fromMs: Math.round(r.fromMs), toMs: Math.round(r.toMs) })),
  };
}

/** Parses a stored models document; anything unreadable is no model (it is only a hint). */
export function parseModels(text: string | undefined): WorkspaceModels {
  if (!text) return {};
  try {
    const parsed = JSON.parse(text) as { v?: unknown; models?: unknown };
    if (parsed.v !== 1 || typeof parsed.models !== "object" || parsed.models === null) return {};
    const out: Record<string, RunTimeModel> = {};
    for (const [key, value] of Object.entries(parsed.models as Record<string, unknown>)) {
      const m = value as { samples?: unknown; bins?: unknown };
      if (typeof m?.samples !== "number" || typeof m.bins !== "object" || m.bins === null) continue;
      const bins: Record<string, number> = {};
      for (const [bin, weight] of Object.entries(m.bins as Record<string, unknown>)) {
        if (/^\d+$/.test(bin) && typeof weight === "number" && Number.isFinite(weight) && weight > 0)
          bins[bin] = weight;
      }
      out[key] = { samples: m.samples, bins };
    }
    return out;
  } catch {
    return {};
  }
}

export function serializeModels(models: WorkspaceModels): string {
  const rounded: Record<string, RunTimeModel> = {};
  for (const [key, m] of Object.entries(models)) {
    const bins: Record<string, number> = {};
    for (const [bin, weight] of Object.entries(m.bins)) bins[bin] = Math.round(weight * 1e4) / 1e4;
    rounded[key] = { samples: m.samples, bins };
  }
  return JSON.stringify({ v: 1, models: rounded });
}

/** At most this many profiles are kept per workspace (the most used), so the document stays small. */
export const MAX_PROFILES = 20;

export function recordRunTime(models: WorkspaceModels, profile: string | undefined, runMs: number): WorkspaceModels {
  const next: Record<string, RunTimeModel> = { ...models };
  next[ALL_PROFILES] = addSample(models[ALL_PROFILES] ?? emptyModel, runMs);
  if (profile !== undefined && profile !== ALL_PROFILES) {
    next[profile] = addSample(models[profile] ?? emptyModel, runMs);
    const profiles = Object.keys(next).filter((k) => k !== ALL_PROFILES);
    if (profiles.length > MAX_PROFILES) {
      const fewest = profiles.sort((a, b) => (next[a]?.samples ?? 0) - (next[b]?.samples ?? 0))[0] as string;
      if (fewest !== profile) delete next[fewest];
    }
  }
  return next;
}

/**
 * How long a finished task ran: the API's `taskRunInfo.responseTime` where it gives one (a number
 * or a numeric string), else the relay's own estimate from when it saw the task start and end.
 * The API documents responseTime as "from scheduling to completion"; whether that includes time
 * queued is not documented, so a reported time longer than the relay saw the task run (give or
 * take `slackMs`, how far off its start may be) is not taken: it would shift every schedule late.
 */
export function runTimeOf(
  raw: unknown,
  estimate: { runningSinceMs: number | undefined; lastPolledAtMs: number | undefined; nowMs: number },
  slackMs = Number.POSITIVE_INFINITY,
): number | undefined {
  const info = (raw as { taskRunInfo?: { responseTime?: unknown } } | undefined)?.taskRunInfo;
  const reported = Number(info?.responseTime);
  const seenMs = estimate.runningSinceMs === undefined ? undefined : estimate.nowMs - estimate.runningSinceMs;
  const plausible = seenMs === undefined || reported <= seenMs + slackMs;
  if (
    info?.responseTime !== undefined &&
    Number.isFinite(reported) &&
    reported > 0 &&
    reported < 48 * 3_600_000 &&
    plausible
  )
    return Math.round(reported);
  if (estimate.runningSinceMs === undefined) return undefined;
  // The end fell between the last poll and this one: take the middle.
  const endedAtMs =
    estimate.lastPolledAtMs !== undefined && estimate.lastPolledAtMs > estimate.runningSinceMs
      ? (estimate.lastPolledAtMs + estimate.nowMs) / 2
      : estimate.nowMs;
  const ms = Math.round(endedAtMs - estimate.runningSinceMs);
  return ms > 0 ? ms : undefined;
}
