/**
 * Which sub-results of a task's `payload.output` have finished (`generateFinished`), read from an
 * answer the relay already has: the source of `video_analysis.progress` events.
 *
 * Part names are the output's keys, except that `videoGenerateResults` (the multi-task list) is one
 * part per item, `videoGenerateResults[<index>]`, by the item's own 1-based `index` (its place in
 * the list when it has none): each item is its own prompt and model and finishes on its own, which
 * is the progress a subscriber waits for. Plain code, no schema library: it runs on every poll of a
 * running task, in the FC bundles too.
 */
import type { JsonObject } from "./quanmiao/task.js";

/** The sub-results that say when they are done, in the order the API's documentation lists them. */
export const PROGRESS_SECTIONS = [
  "videoAnalysisResult",
  "videoCaptionResult",
  "videoGenerateResult",
  "videoGenerateResults",
  "videoMindMappingGenerateResult",
  "videoTitleGenerateResult",
] as const;

/** A part's name: a section, or `videoGenerateResults[n]`. */
export const PART_PATTERN =
  /^(videoAnalysisResult|videoCaptionResult|videoGenerateResult|videoGenerateResults\[[1-9]\d*\]|videoMindMappingGenerateResult|videoTitleGenerateResult)$/;

export interface FinishedPart {
  readonly part: string;
  /** The sub-result exactly as the API returned it. */
  readonly result: JsonObject;
}

const isObject = (v: unknown): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v);

/** The API's booleans may arrive as text, as its loosely typed fields sometimes do. */
const finished = (v: unknown): v is JsonObject =>
  isObject(v) && (v.generateFinished === true || v.generateFinished === "true");

function itemIndex(item: JsonObject, position: number): number {
  const index = typeof item.index === "string" ? Number(item.index) : item.index;
  // Safe integers only: 1e21 is an integer whose text (1e+21) is no part name.
  return typeof index === "number" && Number.isSafeInteger(index) && index >= 1 ? index : position + 1;
}

/** The finished parts of an answer's `data` object, each once (the first of a repeated index wins). */
export function finishedParts(raw: JsonObject | undefined): FinishedPart[] {
  const payload = raw?.payload;
  const output = isObject(payload) ? payload.output : undefined;
  if (!isObject(output)) return [];
  const parts: FinishedPart[] = [];
  for (const section of PROGRESS_SECTIONS) {
    const value = output[section];
    if (section !== "videoGenerateResults") {
      if (finished(value)) parts.push({ part: section, result: value });
      continue;
    }
    if (!Array.isArray(value)) continue;
    const seen = new Set<string>();
    value.forEach((item, position) => {
      if (!finished(item)) return;
      const part = `${section}[${itemIndex(item, position)}]`;
      if (seen.has(part)) return;
      seen.add(part);
      parts.push({ part, result: item });
    });
  }
  return parts;
}

/**
 * The parts of `parts` not in `known` (the names already reported for the task), and the names to
 * keep — undefined when there is nothing new, so the task's row is not rewritten for it.
 */
export function newParts(
  parts: readonly FinishedPart[],
  known: readonly string[] | undefined,
): { readonly fresh: FinishedPart[]; readonly names: string[] | undefined } {
  const had = new Set(known ?? []);
  const fresh = parts.filter((p) => !had.has(p.part));
  return { fresh, names: fresh.length === 0 ? undefined : [...had, ...fresh.map((p) => p.part)] };
}
