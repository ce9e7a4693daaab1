/**
 * What this process knows to be leased: rows it claimed itself and has not finished, and rows a
 * failed claim found leased by someone else, each until its lease ends. A due index keeps the
 * entries of leased rows (they move only when the holder finishes), so without this every claim
 * would try them again — a conditional update that fails, and a read to learn why, each time.
 * Only a hint: skipping an entry whose lease has in fact ended early delays it until the lease
 * would have ended, never loses it.
 */
export class LeasesSeen {
  private readonly until = new Map<string, number>();

  constructor(private readonly capacity = 10_000) {}

  /** How many are remembered (some may have ended): how far past its own in-flight rows a claim reads. */
  get size(): number {
    return this.until.size;
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
