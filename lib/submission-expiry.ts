/**
 * Forgetting submissions past their deduplication window (lib/submissions.ts). A record is kept
 * for every submission, and is of no use once its window has passed (a repeat then submits anew,
 * as the API itself allows), so without this the store grew by a row per submission for ever.
 *
 * Records are found by their marks (SUBMISSION_MARK_PREFIX, keyed by time): one range read finds
 * the marks past the window, each naming its record. Records an older relay wrote without marks are
 * found by reading every record once, a page a run, from a cursor kept in the store: those past
 * their window are deleted, the others marked.
 */
import { forEachLimit } from "./concurrency.js";
import type { Store } from "./store/store.js";
import {
  DEDUPLICATION_WINDOW_MS,
  parseRecord,
  SUBMISSION_MARK_PREFIX,
  SUBMISSION_PREFIX,
  submissionMarkKey,
  submissionMarksAt,
} from "./submissions.js";

/** Where the sweep of unmarked records has got to: `{"after": key}`, or DONE once it has read them all. */
export const SWEEP_KEY = "submission-sweep";
const DONE = "done";
/** Just past every record's key (";" follows ":"). */
const RECORDS_END = `${SUBMISSION_PREFIX.slice(0, -1)};`;
const CONCURRENCY = 8;

/** Stores whose unmarked records are all swept, so that a process asks only once. */
const swept = new WeakSet<Store>();

/**
 * Deletes up to `limit` records (with their marks) whose window had passed by `nowMs`, calling
 * `forgotten` for each as it goes, so that what a pass deleted is counted even if it then fails.
 */
export async function forgetExpiredSubmissions(
  store: Store,
  nowMs: number,
  limit: number,
  forgotten: () => void = () => {},
): Promise<void> {
  // submitAndRegister reads a record at or before the cutoff as none; marks before it are past.
  const cutoffMs = nowMs - DEDUPLICATION_WINDOW_MS;
  const marks = await store.listSettings(SUBMISSION_MARK_PREFIX, submissionMarksAt(cutoffMs), limit);
  await each(marks, async (mark) => {
    if (await forgetRecord(store, mark.value, cutoffMs)) forgotten();
    await store.deleteSetting(mark.key, mark.value);
  });
  if (marks.length < limit) await sweepUnmarked(store, cutoffMs, limit - marks.length, forgotten);
}

async function forgetRecord(store: Store, key: string, cutoffMs: number): Promise<boolean> {
  // A mark is trusted to name a submission record and nothing else (a signing secret is a setting too).
  if (!key.startsWith(SUBMISSION_PREFIX)) return false;
  const raw = await store.getSetting(key);
  return raw !== undefined && expired(raw, cutoffMs) && store.deleteSetting(key, raw);
}

/**
 * Past its window, or unreadable (which submitAndRegister reads as none). A record written again
 * since, for the same id once its window had passed, is kept: it has a mark of its own. Deleted only
 * as read, so a submission rewriting it meanwhile wins.
 */
function expired(raw: string, cutoffMs: number): boolean {
  const record = parseRecord(raw);
  return record === undefined || record.atMs <= cutoffMs;
}

async function sweepUnmarked(store: Store, cutoffMs: number, limit: number, forgotten: () => void): Promise<void> {
  if (swept.has(store)) return;
  const state = await store.getSetting(SWEEP_KEY);
  if (state === DONE) {
    swept.add(store);
    return;
  }
  const after = afterOf(state);
  // Just past `after`: the smallest key greater than it (ids hold no control characters).
  const page = await store.listSettings(after === undefined ? SUBMISSION_PREFIX : `${after}\u0000`, RECORDS_END, limit);
  await each(page, async ({ key, value }) => {
    if (expired(value, cutoffMs)) {
      if (await store.deleteSetting(key, value)) forgotten();
      return;
    }
    // Within its window: marked, to be deleted when it expires (a mark written twice is one mark).
    const atMs = parseRecord(value)?.atMs as number;
    await store.compareAndSetSetting(submissionMarkKey(atMs, key), undefined, key);
  });
  const last = page.at(-1);
  const next = page.length < limit || !last ? DONE : JSON.stringify({ after: last.key });
  // Two runs sweeping the same page delete nothing twice; the one that loses only leaves the cursor.
  await store.compareAndSetSetting(SWEEP_KEY, state, next);
  if (next === DONE) swept.add(store);
}

/** The cursor's key; none (start over) for a value this version cannot read. */
function afterOf(state: string | undefined): string | undefined {
  if (state === undefined) return undefined;
  try {
    const after = (JSON.parse(state) as { after?: unknown }).after;
    return typeof after === "string" && after.startsWith(SUBMISSION_PREFIX) ? after : undefined;
  } catch {
    return undefined;
  }
}

/** `fn` over every item, a few at once; the first failure is thrown once all have been tried. */
async function each<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
  let failure: { error: unknown } | undefined;
  await forEachLimit(items, CONCURRENCY, async (item) => {
    try {
      await fn(item);
    } catch (error) {
      failure ??= { error };
    }
  });
  if (failure) throw failure.error;
}
