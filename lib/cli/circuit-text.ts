/** A circuit as one cell of a terminal table: short, and an open one says when it is tried again. */
import type { CircuitView } from "../delivery/circuit.js";

const DAY_MS = 86_400_000;

const failures = (n: number) => (n === 1 ? "1 failure" : `${n} failures`);

/**
 * Whole seconds, rounded up: "open until" never names a moment before the probe may go. The date
 * is left out when the time is within a day from now, so the time alone cannot be mistaken.
 */
function untilText(ms: number, nowMs: number): string {
  const iso = new Date(Math.ceil(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
  return ms - nowMs < DAY_MS ? iso.slice("YYYY-MM-DDT".length) : iso;
}

export function circuitText(c: CircuitView, nowMs: number): string {
  const n = failures(c.consecutiveFailures);
  if (c.state === "closed") return c.consecutiveFailures === 0 ? "closed" : `closed (${n})`;
  if (c.state === "probing") return `probing (${n})`;
  const untilMs = c.openUntil === null ? Number.NaN : Date.parse(c.openUntil);
  // Past its cool-down an open circuit waits for the next run to take the probe.
  if (!(untilMs > nowMs)) return `open, probe due (${n})`;
  return `open until ${untilText(untilMs, nowMs)} (${n})`;
}
