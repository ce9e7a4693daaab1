/**
 * Signing secrets: `whsec_` + base64 of 32 random bytes (Standard Webhooks). Rotation keeps the old
 * secret signing for a grace period, so a receiver can switch at its own pace: during it, every
 * delivery carries one signature per valid secret.
 */
import { randomBytes } from "node:crypto";
import type { RandomBytes } from "./ids.js";
import type { Store, WebhookSecret } from "./store/store.js";

export const ROTATION_GRACE_MS = 24 * 3_600_000;
/**
 * Previous secrets that still sign, at most: each adds a signature to every delivery, and 400
 * rotations in a day made a 19 KB header that receivers answer with 431. A rotation past this
 * many ends the oldest one's grace early.
 */
export const MAX_PREVIOUS_SECRETS = 4;
const DEFAULT_SECRET_KEY = "default_signing_secrets";

export function newSecret(random: RandomBytes = randomBytes): string {
  return `whsec_${random(32).toString("base64")}`;
}

/** Newest first: the current secret (no expiry), then the latest to expire. */
function newestFirst(a: WebhookSecret, b: WebhookSecret): number {
  return a.expiresAtMs === undefined ? -1 : b.expiresAtMs === undefined ? 1 : b.expiresAtMs - a.expiresAtMs;
}

/** The secrets that sign at `nowMs`, current first (a list stored before the cap is held to it). */
export function activeSecrets(secrets: readonly WebhookSecret[], nowMs: number): string[] {
  return secrets
    .filter((s) => s.expiresAtMs === undefined || s.expiresAtMs > nowMs)
    .sort(newestFirst)
    .slice(0, 1 + MAX_PREVIOUS_SECRETS)
    .map((s) => s.secret);
}

export function rotate(
  secrets: readonly WebhookSecret[],
  fresh: string,
  nowMs: number,
  graceMs = ROTATION_GRACE_MS,
): WebhookSecret[] {
  const kept = secrets
    .filter((s) => s.expiresAtMs === undefined || s.expiresAtMs > nowMs)
    .map((s) => (s.expiresAtMs === undefined ? { secret: s.secret, expiresAtMs: nowMs + graceMs } : s))
    .sort(newestFirst)
    .slice(0, MAX_PREVIOUS_SECRETS);
  return [{ secret: fresh }, ...kept];
}

/** The installation's default secret list (signs per-task URLs), created on first use. */
export async function defaultSecrets(store: Store, random: RandomBytes = randomBytes): Promise<WebhookSecret[]> {
  const stored = await store.getSetting(DEFAULT_SECRET_KEY);
  if (stored !== undefined) return JSON.parse(stored) as WebhookSecret[];
  const created = [{ secret: newSecret(random) }];
  // Two processes may race to create it; the first writer wins and both use its value.
  if (await store.compareAndSetSetting(DEFAULT_SECRET_KEY, undefined, JSON.stringify(created))) return created;
  return JSON.parse((await store.getSetting(DEFAULT_SECRET_KEY)) ?? "[]") as WebhookSecret[];
}

export async function rotateDefaultSecret(
  store: Store,
  nowMs: number,
  random: RandomBytes = randomBytes,
): Promise<string> {
  for (;;) {
    const current = await defaultSecrets(store, random);
    const fresh = newSecret(random);
    const expected = await store.getSetting(DEFAULT_SECRET_KEY);
    if (await store.compareAndSetSetting(DEFAULT_SECRET_KEY, expected, JSON.stringify(rotate(current, fresh, nowMs)))) {
      return fresh;
    }
  }
}
