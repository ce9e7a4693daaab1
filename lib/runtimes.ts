/**
 * Learned run times. Pure functions: the run keeps the models (lib/runtime-stats.ts) and asks
 * lib/poll-timing.ts when to poll a running task given them.
 *
 * A model is a histogram of how long tasks ran, over log-spaced bins (1 % wide), older samples
 * fading (weight × 0.99 per new one) so that the model follows a workspace whose videos change.
 * It is read (lib/runtime-density.ts) through a kernel density estimate: each bin spread by a
 * Gaussian as wide as Silverman's rule gives for the data's own spread and count, so that thirty
 * samples of a broad distribution leave no empty stretch inside it (an empty bin would read as "no
 * end happens here"), while hundreds of samples of a narrow one keep it narrow; then drawn in
 * towards the mean so that the kernel does not add its width to the data's spread; ends of two
 * modes far apart (failures within seconds, successes in minutes), each mode on its own. A model is
 * trusted from ten ends; until it has twenty it is read wider, as wide as the next end is likely to
 * fall given so few (a Student-t predictive spread), since a few ends locate a workspace's run
 * times well but measure their spread poorly. An end the relay times itself is known only within
 * the gap before the poll that saw it, and counts as spread over that gap (addSample). Learned per
 * workspace, and per profile (the kind of work, e.g. its generateOptions) where the task has one;
 * and, for tasks whose video length is known (`videoDurationSeconds`), as run time per minute of
 * video, which for most work is far narrower than run time itself; failed ends are kept apart as
 * well, so that failures at a fixed time are planned as such (fixedTimeFailures). The same models are also kept
 * across all workspaces, so that a new workspace starts from what the relay has seen elsewhere
 * rather than from nothing.
 */

import {
  addSample,
  BIN_BASE_MS,
  binOf,
  emptyModel,
  exactly,
  fade,
  fitted,
  MAX_BIN,
  type RunTimeModel,
  type RunTimeSpan,
  slopeFit,
  type VideoFit,
} from "./runtime-model.js";

/**
 * A model needs this many ends before it is trusted; until then the next level up, or the prior.
 * Three ends read through the t predictive below place the next end well for a log-normal
 * workspace (1.29× → 1.25× the floor on the learnable day at 10 s), but say nothing of a second
 * mode: a workspace whose first three ends were long successes has its fast failures noticed only
 * at the first planned poll, minutes late (a review measured 2.5 % of ends over 60 s late from
 * three ends, against 0.4 % from ten, in a workspace with 20 % of tasks failing at ~20 s).
 */
export const MIN_SAMPLES = 10;
/** From this many ends on, a model's spread is read as it is; below, widened as a new end's is likely to be. */
export const SETTLED_SAMPLES = 20;
/**
 * A workspace's models: "*" is every task of the workspace, other keys one profile each; the same
 * keys behind VIDEO_PREFIX hold run time per minute of video, for tasks whose video length is known.
 */
export type WorkspaceModels = Readonly<Record<string, RunTimeModel>>;
export const ALL_PROFILES = "*";
/** A control character: no profile can hold one (lib/input.ts refuses them), so no key collides. */
export const VIDEO_PREFIX = "video\u001f";
/**
 * The failed ends of tasks with a video length, again, behind this prefix: in run time
 * ("failed\u001f*") and per minute of video ("failed\u001fvideo\u001f*"), over the same ends as the
 * video models and faded at each of them, a failure or not, so that their weight against the video
 * model's is the recent share of failures and the video model less its failures is exactly its
 * successes. Kept so that failures at a fixed time (a URL that cannot be fetched fails in seconds,
 * whatever the video's length) are planned as such beside successes that scale with the video
 * (fixedTimeFailures). Stored apart from the models (serializeModels), so that an older relay,
 * which would take these keys for profiles, never sees them.
 */
export const FAILED_PREFIX = "failed\u001f";
/** Video models count run time per this much video: a model value of 60 s is "as long as the video". */
export const VIDEO_UNIT_MS = 60_000;

/** A level's trusted model for a task: its profile's, else the level's whole, else none. */
function trusted(models: WorkspaceModels | undefined, profile: string | undefined, prefix: string) {
  if (!models) return undefined;
  const own = profile === undefined ? undefined : models[prefix + profile];
  if (own && own.samples >= MIN_SAMPLES) return own;
  const all = models[prefix + ALL_PROFILES];
  return all && all.samples >= MIN_SAMPLES ? all : undefined;
}

export interface ChosenModel {
  readonly model: RunTimeModel;
  /** Run time per unit of the model: 1, or the video's length per VIDEO_UNIT_MS for a video model. */
  readonly scale: number;
  readonly source: "profile" | "workspace" | "relay";
  readonly perVideo: boolean;
  /**
   * Failures at a fixed run time, whatever the video's length, planned in run time beside `model`
   * (then the successes alone), as `share` of the ends. See fixedTimeFailures.
   */
  readonly failures?: FixedTimeFailures;
}

/**
 * The best-informed trusted model for a task: per minute of its video where its length is known,
 * then its own run times; its profile's before its workspace's, the workspace's before the
 * relay's (every workspace's ends together); none means the prior.
 */
export function chooseModel(
  own: WorkspaceModels | undefined,
  relay: WorkspaceModels | undefined,
  profile: string | undefined,
  videoMs: number | undefined,
): ChosenModel | undefined {
  const levels: Array<[WorkspaceModels | undefined, "workspace" | "relay"]> = [
    [own, "workspace"],
    [relay, "relay"],
  ];
  for (const [models, level] of levels) {
    for (const perVideo of videoMs !== undefined && videoMs > 0 ? [true, false] : [false]) {
      const model = trusted(models, profile, perVideo ? VIDEO_PREFIX : "");
      if (!model) continue;
      const isProfile = profile !== undefined && model === models?.[(perVideo ? VIDEO_PREFIX : "") + profile];
      const chosen = {
        model,
        scale: perVideo ? (videoMs as number) / VIDEO_UNIT_MS : 1,
        source: isProfile && level === "workspace" ? ("profile" as const) : level,
        perVideo,
      };
      const split = perVideo
        ? fixedTimeFailures(models as WorkspaceModels, isProfile ? profile : ALL_PROFILES)
        : undefined;
      return split ? { ...chosen, model: split.successes, failures: split.failures } : chosen;
    }
  }
  return undefined;
}

const splitCache = new WeakMap<RunTimeModel, { failedPerVideo: RunTimeModel; successes: RunTimeModel }>();

/**
 * Where a key's failures keep to a fixed run time while its successes scale with the video, its
 * video model holds the failures smeared over every video length (20 s is a third of a minute-long
 * video, a thirtieth of a ten-minute one): a schedule scaled to a video polls where its failures
 * never are and misses where they are (with a fifth of tasks failing at ~20 s, a p95 of 40 s at a
 * 10 s target). Such failures (keepToFixedTime) are then planned in run time, the successes (the
 * video model less its failures) per minute of video. Both parts need MIN_SAMPLES ends; failures
 * that scale with the video, as most work's successes do, stay in the video model as before.
 */
export interface FixedTimeFailures {
  /** The failed ends' run times. */
  readonly model: RunTimeModel;
  /** Their share of the ends (recent ones weighing more, as in every model). */
  readonly share: number;
}

export function fixedTimeFailures(
  models: WorkspaceModels,
  key: string,
): { successes: RunTimeModel; failures: FixedTimeFailures } | undefined {
  const all = models[VIDEO_PREFIX + key];
  if (!all) return undefined;
  // Judged on the key's own failures, or while a profile has too few, on its workspace's (every
  // profile's): a profile is trusted from ten ends, its failures come in tens far later.
  const judged = [key, ALL_PROFILES].find((k) => keepToFixedTime(models, k));
  if (judged === undefined) return undefined;
  const failures = models[FAILED_PREFIX + judged] as RunTimeModel;
  // Of the same ends, faded alike (FAILED_PREFIX).
  const share = Math.min(
    1,
    weightOf(models[FAILED_PREFIX + VIDEO_PREFIX + judged] ?? emptyModel) /
      weightOf(models[VIDEO_PREFIX + judged] ?? emptyModel),
  );
  // Fewer than this, and they are within the schedule's late budget anyway; a model whose
  // failures stopped long ago is read as before.
  if (!(share >= MIN_FAILURE_SHARE)) return undefined;
  const successes = successesOf(all, models[FAILED_PREFIX + VIDEO_PREFIX + key]);
  if (successes.samples < MIN_SAMPLES) return undefined;
  return { successes, failures: { model: failures, share } };
}

/** A slope is believed where its standard error is at most this: 0 and 1 two errors apart. */
const MAX_SLOPE_ERROR = 0.25;

/** A failure share under this is not planned apart. */
const MIN_FAILURE_SHARE = 0.01;

/** A key's video model less its failures: its successes, exactly (FAILED_PREFIX), cached per pair. */
function successesOf(all: RunTimeModel, failedPerVideo: RunTimeModel | undefined): RunTimeModel {
  if (!failedPerVideo) return all;
  const cached = splitCache.get(all);
  if (cached?.failedPerVideo === failedPerVideo) return cached.successes;
  const bins: Record<string, number> = {};
  for (const [bin, weight] of Object.entries(all.bins)) {
    // Stored weights are rounded (serializeModels): what is left of a failure's bin is noise.
    const left = weight - (failedPerVideo.bins[bin] ?? 0);
    if (left > 1e-3) bins[bin] = left;
  }
  const successes = { samples: all.samples - failedPerVideo.samples, bins };
  splitCache.set(all, { failedPerVideo, successes });
  return successes;
}

const weightOf = (model: RunTimeModel) => Object.values(model.bins).reduce((sum, w) => sum + w, 0);

/**
 * Whether failures keep to a fixed run time rather than scale with the video: their run time grows
 * with the video's length at under half the rate. Measured on the ends themselves (VideoFit), not
 * on the two histograms' spreads, which bin 0 misleads (every value under 5 s, of run time or per
 * minute of video, is alike to it: a review found 2 and 5 s failures never planned apart, 8 s ones
 * in 2 seeds of 3) and which failures of tasks without a video length would skew. Failures partly
 * at a fixed time and partly scaled go by which there are more of.
 */
function keepToFixedTime(models: WorkspaceModels, key: string): boolean {
  const failures = models[FAILED_PREFIX + key];
  if (!failures || failures.samples < MIN_SAMPLES || !models[VIDEO_PREFIX + key]) return false;
  // Told only where the ends pin the slope down: lengths that vary little beside run times that
  // vary much (two kinds of work in one workspace) gave slopes of 0–0.45 for failures that scale,
  // and planned them apart at a cost (the learnable day with video lengths: 4.35 calls per task).
  const fit = slopeFit(failures.fit);
  return fit !== undefined && fit.slope < 0.5 && fit.error <= MAX_SLOPE_ERROR;
}

/** Whether `text` is a models document this version reads (version 1 or 2). */
export function isModelsDocument(text: string): boolean {
  try {
    const parsed = JSON.parse(text) as { v?: unknown; models?: unknown };
    return (parsed.v === 1 || parsed.v === 2) && typeof parsed.models === "object" && parsed.models !== null;
  } catch {
    return false;
  }
}

/** Parses a stored models document; anything unreadable is no model (it is only a hint). */
export function parseModels(text: string | undefined): WorkspaceModels {
  if (!text) return {};
  try {
    const parsed = JSON.parse(text) as { v?: unknown; models?: unknown };
    if ((parsed.v !== 1 && parsed.v !== 2) || typeof parsed.models !== "object" || parsed.models === null) return {};
    // Version 1 had 5 % bins: each moves to the 1 % bin holding its middle, so nothing is relearned.
    const rebin = parsed.v === 1 ? (bin: number) => binOf(BIN_BASE_MS * 1.05 ** (bin + 0.5)) : (bin: number) => bin;
    const out: Record<string, RunTimeModel> = {};
    const failed = (parsed as { failed?: unknown }).failed;
    const entries = Object.entries(parsed.models as Record<string, unknown>).filter(
      ([k]) => !k.startsWith(FAILED_PREFIX),
    );
    const modelKeys = new Set(entries.map(([k]) => k));
    // Only the failures of a model the document holds: no more of them than of the models.
    if (typeof failed === "object" && failed !== null)
      for (const [key, value] of Object.entries(failed))
        if (modelKeys.has(key)) entries.push([FAILED_PREFIX + key, value]);
    for (const [key, value] of entries) {
      const m = value as { samples?: unknown; bins?: unknown };
      if (typeof m?.samples !== "number" || typeof m.bins !== "object" || m.bins === null) continue;
      const bins: Record<string, number> = {};
      for (const [bin, weight] of Object.entries(m.bins as Record<string, unknown>)) {
        if (/^\d+$/.test(bin) && typeof weight === "number" && Number.isFinite(weight) && weight > 0) {
          const to = Math.min(MAX_BIN, rebin(Number(bin)));
          bins[to] = (bins[to] ?? 0) + weight;
        }
      }
      const fit = (m as { fit?: unknown }).fit;
      const fitOk =
        Array.isArray(fit) &&
        fit.length === 6 &&
        fit.every((v) => typeof v === "number" && Number.isFinite(v)) &&
        fit[0] > 0 &&
        fit[3] >= 0;
      out[key] = {
        samples: m.samples,
        bins,
        ...(fitOk && key.startsWith(FAILED_PREFIX) ? { fit: fit as unknown as VideoFit } : {}),
      };
    }
    return out;
  } catch {
    return {};
  }
}

export function serializeModels(models: WorkspaceModels): string {
  const rounded: Record<string, RunTimeModel> = {};
  const failed: Record<string, RunTimeModel> = {};
  for (const [key, m] of Object.entries(models)) {
    const bins: Record<string, number> = {};
    for (const [bin, weight] of Object.entries(m.bins)) bins[bin] = Math.round(weight * 1e4) / 1e4;
    if (key.startsWith(FAILED_PREFIX))
      failed[key.slice(FAILED_PREFIX.length)] = {
        samples: m.samples,
        bins,
        // Sums of squares: kept to 10 figures, where weights need 4 decimals.
        ...(m.fit ? { fit: m.fit.map((v) => Number(v.toPrecision(10))) as unknown as VideoFit } : {}),
      };
    else rounded[key] = { samples: m.samples, bins };
  }
  // Failed ends apart (FAILED_PREFIX): an older relay drops the field when it rewrites the document.
  return JSON.stringify({ v: 2, models: rounded, ...(Object.keys(failed).length > 0 ? { failed } : {}) });
}

/** A failure timed within this span (or a quarter of its run time, if longer) goes into the fit. */
const FIT_SPAN_MS = 15_000;

/** At most this many profiles are kept per workspace (the most used), so the document stays small. */
export const MAX_PROFILES = 20;

export function recordRunTime(
  models: WorkspaceModels,
  profile: string | undefined,
  run: number | RunTimeSpan,
  videoMs?: number,
  failed = false,
): WorkspaceModels {
  const runSpan = typeof run === "number" ? exactly(run) : run;
  const next: Record<string, RunTimeModel> = { ...models };
  const keys = profile !== undefined && profile !== ALL_PROFILES ? [ALL_PROFILES, profile] : [ALL_PROFILES];
  const add = (prefix: string, value: RunTimeSpan) => {
    for (const key of keys) next[prefix + key] = addSample(models[prefix + key] ?? emptyModel, value);
  };
  /** A video task's end, to its key's failures: added if it failed, else only fading them (FAILED_PREFIX). */
  const fail = (prefix: string, value: RunTimeSpan, point?: { x: number; y: number }) => {
    for (const key of keys) {
      const failures = models[FAILED_PREFIX + prefix + key];
      if (!failed && !failures) continue;
      const model = failed ? addSample(failures ?? emptyModel, value) : fade(failures as RunTimeModel);
      // The run-time failures carry the fit, faded at every end and added to by timed failures.
      next[FAILED_PREFIX + prefix + key] =
        prefix === "" ? { ...model, fit: fitted(failures?.fit, failed ? point : undefined) } : model;
    }
  };
  add("", runSpan);
  if (videoMs !== undefined && videoMs > 0) {
    const perUnit = (ms: number) => (ms * VIDEO_UNIT_MS) / videoMs;
    const perVideo = { fromMs: perUnit(runSpan.fromMs), toMs: perUnit(runSpan.toMs) };
    add(VIDEO_PREFIX, perVideo);
    // Only an end timed closely goes into the fit: one first seen after a long gap is known only
    // within it, and where the schedule scales with the video so do its gaps, which would tilt the
    // slope towards "scaled" for good (a review: failures at 5 s read as slope 0.7, never split).
    // Under 5 s is all alike, as in bin 0: a few milliseconds' failure would otherwise weigh as far.
    const midMs = (runSpan.fromMs + runSpan.toMs) / 2;
    const timed = runSpan.toMs - runSpan.fromMs <= Math.max(FIT_SPAN_MS, midMs / 4);
    const point = { x: Math.log(videoMs / VIDEO_UNIT_MS), y: Math.log(Math.max(midMs, BIN_BASE_MS) / 1_000) };
    fail("", runSpan, timed ? point : undefined);
    fail(VIDEO_PREFIX, perVideo);
  }
  const profiles = Object.keys(next).filter(
    (k) => k !== ALL_PROFILES && !k.startsWith(VIDEO_PREFIX) && !k.startsWith(FAILED_PREFIX),
  );
  if (profiles.length > MAX_PROFILES) {
    const fewest = profiles.sort((a, b) => (next[a]?.samples ?? 0) - (next[b]?.samples ?? 0))[0] as string;
    if (fewest !== profile) {
      for (const prefix of ["", VIDEO_PREFIX, FAILED_PREFIX, FAILED_PREFIX + VIDEO_PREFIX])
        delete next[prefix + fewest];
    }
  }
  return next;
}

/**
 * How long a finished task ran: the API's `taskRunInfo.responseTime` where it gives one (a number
 * or a numeric string), else the relay's own estimate from when it saw the task start and end: from
 * the last poll that saw it running (or its start, when none did) to now.
 * The API documents responseTime as "from scheduling to completion"; whether that includes time
 * queued is not documented, so a reported time longer than the relay saw the task run (give or
 * take `slackMs`, how far off its start may be) is not taken: it would shift every schedule late.
 */
export function runTimeOf(
  raw: unknown,
  estimate: { runningSinceMs: number | undefined; lastPolledAtMs: number | undefined; nowMs: number },
  slackMs = Number.POSITIVE_INFINITY,
): RunTimeSpan | undefined {
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
    return exactly(Math.round(reported));
  if (estimate.runningSinceMs === undefined || seenMs === undefined || seenMs <= 0) return undefined;
  const lastSeenRunningMs =
    estimate.lastPolledAtMs !== undefined && estimate.lastPolledAtMs > estimate.runningSinceMs
      ? estimate.lastPolledAtMs - estimate.runningSinceMs
      : 0;
  return { fromMs: Math.min(lastSeenRunningMs, seenMs), toMs: seenMs };
}
