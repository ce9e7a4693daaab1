import type { Clock } from "../../lib/clock.js";

/** A clock that moves only when told to. Starts at a fixed, realistic instant. */
export class FakeClock implements Clock {
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
  /** A sleep that takes no real time: it moves this clock instead. */
  readonly sleep = async (ms: number): Promise<void> => {
    this.advance(Math.max(0, ms));
  };
}
