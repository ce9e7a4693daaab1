/**
 * Requests in flight to each endpoint from every delivery pass of a process. Passes overlap: under
 * `npm start` a run that has spent its budget finishes its last attempts beside the next run, and
 * each pass counted only its own, so an endpoint at its window in the one was a fresh window to the
 * other (up to four runs' worth at once). A pass that frees a slot tells the others, whose rows for
 * that endpoint may be waiting on it.
 */
export type FreedListener = (key: string) => void;

export class InFlight {
  private readonly counts = new Map<string, number>();
  private readonly listeners = new Set<FreedListener>();

  of(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  add(key: string): void {
    this.counts.set(key, this.of(key) + 1);
  }

  /** One request to `key` is over; every listener but `by` (the pass that made it) hears of it. */
  remove(key: string, by?: FreedListener): void {
    const n = this.of(key) - 1;
    if (n > 0) this.counts.set(key, n);
    else this.counts.delete(key);
    if (this.listeners.size > (by === undefined ? 0 : 1))
      for (const listener of [...this.listeners]) if (listener !== by) listener(key);
  }

  /** Hears of slots others free until the returned function is called. */
  listen(listener: FreedListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
