import type { Clock } from "../lib/clock.js";

/**
 * A clock that moves only when told to, for simulated time (tests, the economy benchmark, the
 * reliability suite). Its `sleep` takes no real time: it moves the clock instead.
 */
export class ManualClock implements Clock {
  constructor(private ms = Date.parse("2026-11-25T12:00:00.000Z")) {}
  now(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
  set(ms: number): void {
    this.ms = ms;
  }
  readonly sleep = async (ms: number): Promise<void> => {
    this.advance(Math.max(0, ms));
  };
}
