/**
 * The global budget for Quanmiao API calls: a token bucket (calls per second) on the injected clock.
 * A throttling answer halves the rate and pauses calls until the server's wait has passed; each
 * success wins back a little, up to the configured rate.
 */
import type { Clock } from "./clock.js";

export type Sleep = (ms: number) => Promise<void>;

export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class RateLimiter {
  private tokens: number;
  private rate: number;
  private updatedAtMs: number;
  private pausedUntilMs = 0;

  constructor(
    private readonly maxRate: number,
    private readonly clock: Clock,
    private readonly sleep: Sleep,
    private readonly burst = Math.max(1, maxRate),
  ) {
    this.rate = maxRate;
    this.tokens = 1;
    this.updatedAtMs = clock.now();
  }

  get currentRate(): number {
    return this.rate;
  }

  private refill(nowMs: number): void {
    this.tokens = Math.min(this.burst, this.tokens + ((nowMs - this.updatedAtMs) / 1000) * this.rate);
    this.updatedAtMs = nowMs;
  }

  /** Waits for a token; returns false if that would take past `deadlineMs` (no token taken). */
  async take(deadlineMs = Number.POSITIVE_INFINITY): Promise<boolean> {
    for (;;) {
      const now = this.clock.now();
      if (now < this.pausedUntilMs) {
        if (this.pausedUntilMs > deadlineMs) return false;
        await this.sleep(this.pausedUntilMs - now);
        continue;
      }
      this.refill(now);
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return true;
      }
      const waitMs = Math.ceil(((1 - this.tokens) / this.rate) * 1000);
      if (now + waitMs > deadlineMs) return false;
      await this.sleep(waitMs);
    }
  }

  throttled(retryAfterMs: number | undefined): void {
    const now = this.clock.now();
    this.refill(now);
    this.rate = Math.max(this.maxRate / 16, this.rate / 2);
    this.pausedUntilMs = Math.max(this.pausedUntilMs, now + (retryAfterMs ?? 1000));
    this.tokens = Math.min(this.tokens, 0);
  }

  succeeded(): void {
    this.rate = Math.min(this.maxRate, this.rate * 1.05);
  }
}
