/**
 * What this process knows to be leased: rows it claimed itself and has not finished, and rows a
 * failed claim found leased by someone else, each until its lease ends. A due index keeps the
 * entries of leased rows (they move only when the holder finishes), so without this every claim
 * would try them again — a conditional update that fails, and a read to learn why, each time.
 * Only a hint: skipping an entry whose lease has in fact ended early delays it until the lease
 * would have ended, never loses it.
 */
/** The most due entries one claim reads from one shard. */
const MAX_WINDOW = 2_000;

export class LeasesSeen {
  private readonly until = new Map<string, number>();

  constructor(private readonly capacity = 10_000) {}

  /**
   * How many due entries a claim of `wanted` reads from a shard: enough to start at a random point
   * and to pass the entries of the leases known at `nowMs` (ended ones are forgotten here), which
   * sit among the due ones it wants — bounded, since Tablestore bills a range by its size.
   */
  window(wanted: number, nowMs: number): number {
    for (const [key, until] of this.until) if (until <= nowMs) this.until.delete(key);
    return Math.min(MAX_WINDOW, wanted * 8 + this.until.size);
  }

  /** Whether `key` is known to be leased at `nowMs`. */
  held(key: string, nowMs: number): boolean {
    const until = this.until.get(key);
    if (until === undefined) return false;
    if (until > nowMs) return true;
    this.until.delete(key);
    return false;
  }

  hold(key: string, untilMs: number): void {
    if (this.until.size >= this.capacity && !this.until.has(key)) {
      // Map order is insertion order: the oldest entry goes (it is the likeliest to have ended).
      const oldest = this.until.keys().next();
      if (!oldest.done) this.until.delete(oldest.value);
    }
    this.until.set(key, untilMs);
  }

  release(key: string): void {
    this.until.delete(key);
  }
}
