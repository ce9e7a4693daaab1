/**
 * The events resent lately (`events resend`), kept in the store's settings, so that `listen`
 * sessions forward a resent event again, as `stripe listen` shows a resent one. Each resend is a
 * row of its own, keyed by its time: resends at once never contend for one value, as they did
 * when the log was one compare-and-set row (after five lost races a resend went unlogged). Rows
 * older than the log keeps are deleted as new ones are written.
 */
import { forEachLimit } from "./concurrency.js";
import { randomHex } from "./ids.js";
import type { Store } from "./store/store.js";

const PREFIX = "event-resend:";
const KEEP_MS = 10 * 60_000;
/** A page of the log. */
export const RESEND_PAGE = 100;
/**
 * A resend stamped further ahead than this (by a skewed clock: `events resend` stamps with its
 * own) waits until the relay's clock reaches it: served now, it would carry a listen session's
 * `since` past every resend to come.
 */
const AHEAD_MS = 5_000;
/** Expired rows deleted per resend: one burst's worth, so a big burst clears over later resends. */
const PRUNE = 200;
/** What a page's `next` looks like: the key of its last row. */
export const RESEND_CURSOR = /^event-resend:\d{15}:[0-9a-f]{16}$/;

export interface Resend {
  readonly eventId: string;
  readonly atMs: number;
}

const keyAt = (atMs: number) => `${PREFIX}${String(Math.max(0, Math.floor(atMs))).padStart(15, "0")}`;

function parse(value: string): Resend | undefined {
  try {
    const r = JSON.parse(value) as Partial<Resend> | null;
    if (typeof r?.eventId === "string" && typeof r.atMs === "number" && Number.isFinite(r.atMs))
      return { eventId: r.eventId, atMs: r.atMs };
  } catch {
    // A row that does not parse is only a lost hint to listen sessions.
  }
  return undefined;
}

/** Adds a resend to the log, and deletes what has aged out of it. */
export async function noteResend(store: Store, eventId: string, nowMs: number): Promise<void> {
  const value = JSON.stringify({ eventId, atMs: nowMs });
  // The random part keeps two resends in one millisecond apart; a clash of it, tried again.
  for (let tries = 0; tries < 3; tries++)
    if (await store.compareAndSetSetting(`${keyAt(nowMs)}:${randomHex(8)}`, undefined, value)) break;
  // A few at a time: after a burst, a resend has up to PRUNE rows to delete, each a round trip.
  await forEachLimit(await store.listSettings(PREFIX, keyAt(nowMs - KEEP_MS + 1), PRUNE), 8, async (old) => {
    await store.deleteSetting(old.key, old.value);
  });
}

/**
 * Resends at or after `sinceMs`, within the last KEEP_MS, oldest first, a page at a time: `next`
 * (the last row's key) continues after it, so a burst of any size is read whole. Rows past the
 * window a burst left behind are skipped by the range, not read.
 */
export async function resendsSince(
  store: Store,
  sinceMs: number,
  nowMs: number,
  cursor?: string,
): Promise<{ items: Resend[]; next: string | undefined }> {
  const fromMs = Math.max(sinceMs, nowMs - KEEP_MS + 1);
  const from = cursor === undefined ? keyAt(fromMs) : `${cursor}\u0000`;
  // A `since` far ahead gives a range that ends before it starts: every store answers it with nothing.
  const rows = await store.listSettings(from, keyAt(nowMs + AHEAD_MS + 1), RESEND_PAGE + 1);
  const page = rows.slice(0, RESEND_PAGE);
  return {
    items: page.flatMap((r) => parse(r.value) ?? []).filter((r) => r.atMs >= fromMs),
    next: rows.length > RESEND_PAGE ? page.at(-1)?.key : undefined,
  };
}
