/**
 * The events resent lately (`events resend`), kept as a short log in the store's settings, so
 * that `listen` sessions forward a resent event again, as `stripe listen` shows a resent one. It
 * is bounded in count and age: a listen session reads it every second or so.
 */
import type { Store } from "./store/store.js";

const KEY = "event_resends";
const KEEP = 100;
const KEEP_MS = 10 * 60_000;

export interface Resend {
  readonly eventId: string;
  readonly atMs: number;
}

function parse(raw: string | undefined): Resend[] {
  if (raw === undefined) return [];
  try {
    const value: unknown = JSON.parse(raw);
    return Array.isArray(value)
      ? value.filter(
          (r): r is Resend => typeof r?.eventId === "string" && typeof r?.atMs === "number" && Number.isFinite(r.atMs),
        )
      : [];
  } catch {
    // A log that does not parse is only a lost hint to listen sessions: it starts afresh.
    return [];
  }
}

/** Adds a resend to the log (a compare-and-set loop: two resends at once both stay). */
export async function noteResend(store: Store, eventId: string, nowMs: number): Promise<void> {
  for (let tries = 0; tries < 5; tries++) {
    const raw = await store.getSetting(KEY);
    const kept = parse(raw).filter((r) => r.atMs > nowMs - KEEP_MS);
    const next = [...kept, { eventId, atMs: nowMs }].slice(-KEEP);
    if (await store.compareAndSetSetting(KEY, raw, JSON.stringify(next))) return;
  }
}

/** Resends at or after `sinceMs`, oldest first. */
export async function resendsSince(store: Store, sinceMs: number): Promise<Resend[]> {
  return parse(await store.getSetting(KEY))
    .filter((r) => r.atMs >= sinceMs)
    .sort((a, b) => a.atMs - b.atMs);
}
