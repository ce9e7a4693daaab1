/**
 * When a delivery is tried again. The schedule lists the delay before each attempt, the first
 * entry being the first attempt's (Svix's: at once, 5 s, 5 m, 30 m, 2 h, 5 h, 10 h, 10 h), with
 * ±20 % jitter so a recovering endpoint is not hit by every retry at once.
 */
import { parseDuration } from "../duration.js";

export const DEFAULT_RETRY_SCHEDULE: readonly number[] = [
  0, 5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000,
];
export const JITTER = 0.2;

export function parseRetrySchedule(text: string): number[] {
  const entries = text.split(",").map((s) => s.trim());
  const delays = entries.map((entry) => {
    const ms = parseDuration(entry);
    if (ms === undefined) throw new Error(`"${entry}" is not a duration (use e.g. 0,5s,5m,30m,2h)`);
    return ms;
  });
  if (delays.length === 0 || delays.length > 50) throw new Error("must list 1 to 50 delays");
  return delays;
}

function jittered(ms: number, random: () => number): number {
  return Math.round(ms * (1 - JITTER + 2 * JITTER * random()));
}

/** Delay before attempt number `attempt` (1-based); undefined past the last. */
export function attemptDelay(schedule: readonly number[], attempt: number, random: () => number): number | undefined {
  const base = schedule[attempt - 1];
  return base === undefined ? undefined : jittered(base, random);
}

/**
 * A receiver's Retry-After is honoured within bounds: never sooner than the schedule's next step,
 * never more than twice it (Svix's rule), so one header can neither hammer nor stall an endpoint.
 */
export function boundedRetryAfter(retryAfterMs: number, stepMs: number): number {
  return Math.min(Math.max(retryAfterMs, stepMs), Math.max(2 * stepMs, stepMs));
}
