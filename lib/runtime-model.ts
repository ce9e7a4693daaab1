/**
 * A run-time model: how long tasks ran, as a histogram over log-spaced bins (1 % wide), older ends
 * fading (weight × 0.99 per new one) so that it follows work whose run times change; and, for
 * failures, how their run time grows with the video's length (VideoFit). What the models are
 * learned for and how they are chosen is lib/runtimes.ts; how they are read, lib/runtime-density.ts.
 */

export const BIN_BASE_MS = 5_000;
export const BIN_RATIO = 1.01;
/** Bins cover up to 48 h; longer runs fall in the last one. */
export const MAX_BIN = Math.ceil(Math.log((48 * 3_600_000) / BIN_BASE_MS) / Math.log(BIN_RATIO));
/** Each new end weighs this much more than the one before: the model remembers about 100 ends. */
const DECAY = 0.99;
export interface RunTimeModel {
  /** Ends recorded (not decayed). */
  readonly samples: number;
  /** Bin index → decayed weight. */
  readonly bins: Readonly<Record<string, number>>;
  /** A failures model's (FAILED_PREFIX) run time against video length, see VideoFit. */
  readonly fit?: VideoFit;
}

/**
 * Decayed sums over failed ends of x = ln(video length in minutes) and y = ln(run time in s):
 * weight, Σx, Σy, Σx², Σxy, Σy² — enough for the slope of y on x, how failures' run time grows with
 * the video (0 for failures at a fixed time, 1 for failures that scale with it as successes do),
 * and how well the ends pin it down.
 */
export type VideoFit = readonly [number, number, number, number, number, number];

/** The fit faded by one end, and with a failure at `point` added. */
export function fitted(fit: VideoFit | undefined, point?: { x: number; y: number }): VideoFit {
  const [w, sx, sy, sxx, sxy, syy] = (fit ?? [0, 0, 0, 0, 0, 0]).map((v) => v * DECAY) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (!point) return [w, sx, sy, sxx, sxy, syy];
  const { x, y } = point;
  return [w + 1, sx + x, sy + y, sxx + x * x, sxy + x * y, syy + y * y];
}

/**
 * At or below this variance of x the videos are all of a length (within about 10 %): there is no
 * slope to tell, and failures are read as before. Taken as fixed, they cost the learnable day with
 * video lengths (lengths spread by 10 %) 4.99 calls per task against 4.34: a fixed time spread as
 * widely as the videos is wider than the run time per minute of them.
 */
const ALIKE_VARIANCE = 0.01;

/**
 * The slope of y on x (see VideoFit) and its standard error (counting the faded weight as ends);
 * undefined without a fit, or where the videos are all of a length.
 */
export function slopeFit(fit: VideoFit | undefined): { slope: number; error: number } | undefined {
  if (!fit || !(fit[0] > 0)) return undefined;
  const [w, sx, sy, sxx, sxy, syy] = fit;
  const mx = sx / w;
  const my = sy / w;
  const varX = sxx / w - mx * mx;
  if (!Number.isFinite(varX) || !(varX > ALIKE_VARIANCE)) return undefined;
  const slope = (sxy / w - mx * my) / varX;
  const residual = Math.max(0, syy / w - my * my - slope * slope * varX);
  const error = Math.sqrt(residual / (w * varX));
  return Number.isFinite(slope) && Number.isFinite(error) ? { slope, error } : undefined;
}

/** The slope alone (see slopeFit). */
export const slopeOf = (fit: VideoFit | undefined): number | undefined => slopeFit(fit)?.slope;

export const emptyModel: RunTimeModel = { samples: 0, bins: {} };

export function binOf(ms: number): number {
  if (!(ms > BIN_BASE_MS)) return 0;
  return Math.min(MAX_BIN, Math.floor(Math.log(ms / BIN_BASE_MS) / Math.log(BIN_RATIO)));
}

/** Where a bin starts and ends, in the model's unit (ms of run time, or ms per minute of video). */
export const binStart = (bin: number) => (bin === 0 ? 0 : BIN_BASE_MS * BIN_RATIO ** bin);
export const binEnd = (bin: number) => BIN_BASE_MS * BIN_RATIO ** (bin + 1);

/**
 * How long a task ran, as far as the relay can tell: somewhere from `fromMs` to `toMs` (the same
 * when the API reported it). An end the relay only saw after a long gap is known no better.
 */
export interface RunTimeSpan {
  readonly fromMs: number;
  readonly toMs: number;
}

export const exactly = (ms: number): RunTimeSpan => ({ fromMs: ms, toMs: ms });

/** A span is cut into at most this many equal pieces, so that one end adds at most this many bins. */
const SPREAD_PIECES = 8;

/**
 * Adds one end. An end known only to lie within a span counts as spread evenly over it, not as its
 * last moment: an end first seen at a poll minutes after the task started (a fast failure behind
 * a schedule fitted to the slow successes) would otherwise be learned as slow, and the schedule,
 * polling later still, would never see the fast ends for what they are.
 */
export function addSample(model: RunTimeModel, span: number | RunTimeSpan): RunTimeModel {
  const { fromMs, toMs } = typeof span === "number" ? exactly(span) : span;
  const bins: Record<string, number> = { ...fade(model).bins };
  const pieces = toMs > fromMs ? Math.min(SPREAD_PIECES, binOf(toMs) - binOf(fromMs) + 1) : 1;
  const width = (toMs - fromMs) / pieces;
  for (let i = 0; i < pieces; i++) {
    const bin = binOf(fromMs + (i + 0.5) * width);
    bins[bin] = (bins[bin] ?? 0) + 1 / pieces;
  }
  return { samples: model.samples + 1, bins };
}

/** The model faded as by one more end that is not its own (a failed model at a success). */
export function fade(model: RunTimeModel): RunTimeModel {
  const bins: Record<string, number> = {};
  for (const [bin, weight] of Object.entries(model.bins)) {
    const faded = weight * DECAY;
    if (faded >= 1e-3) bins[bin] = faded;
  }
  return { samples: model.samples, bins, ...(model.fit ? { fit: fitted(model.fit) } : {}) };
}
