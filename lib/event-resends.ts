/**
 * The events resent lately (`events resend`), kept in the store's settings, so that `listen`
 * sessions forward a resent event again, as `stripe listen` shows a resent one. Each resend is a
 * row of its own, keyed by its time: resends at once never contend for one value, as they did
 * when the log was one compare-and-set row (after five lost races a resend went unlogged). Rows
 * older than the log keeps are deleted as new ones are written.
 */
import { randomHex } from "./ids.js";
import type { Store } from "./store/store.js";

const PREFIX = "event-resend:";
/** After every key of the log: keys go on with digits and a colon. */
const END = `${PREFIX}~`;
const KEEP = 100;
const KEEP_MS = 10 * 60_000;
/** Read at most, to find the newest KEEP: of more resends within 10 minutes, the newest are cut. */
const READ = 1_000;
/** Expired rows deleted per resend: one burst's worth, so a big burst clears over later resends. */
const PRUNE = 200;

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
  for (const old of await store.listSettings(PREFIX, keyAt(nowMs - KEEP_MS + 1), PRUNE))
    await store.deleteSetting(old.key, old.value);
}

/**
 * The newest KEEP resends of the last KEEP_MS at or after `sinceMs`, oldest first. Rows past the
 * window a burst left behind are skipped by the range, not read.
 */
export async function resendsSince(store: Store, sinceMs: number, nowMs: number): Promise<Resend[]> {
  const fromMs = Math.max(sinceMs, nowMs - KEEP_MS);
  const rows = await store.listSettings(keyAt(fromMs), END, READ);
  return rows
    .flatMap((r) => parse(r.value) ?? [])
    .filter((r) => r.atMs >= sinceMs && r.atMs > nowMs - KEEP_MS)
    .slice(-KEEP);
}
