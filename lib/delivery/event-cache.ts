/**
 * The events a delivery run has read or written, kept so that an event's many deliveries read it
 * once, but bounded by the size of their bodies: a lingering run lives a minute and may see
 * thousands of events whose results run to megabytes each, and the poll function has 192 MB. The
 * least recently used go first; a miss only costs a store read.
 */
import type { EventRow } from "../store/store.js";

/** About 16 MB of UTF-16 text (JS strings): room for every event of a normal run several times over. */
export const EVENT_CACHE_CHARS = 8 * 1024 * 1024;

interface Entry {
  readonly row: Promise<EventRow | undefined>;
  /** The body's length once known (0 while a read is in flight). */
  chars: number;
}

export class EventCache {
  private readonly entries = new Map<string, Entry>();
  private chars = 0;

  constructor(
    private readonly read: (id: string) => Promise<EventRow | undefined>,
    private readonly budgetChars = EVENT_CACHE_CHARS,
  ) {}

  /** An event this run just wrote: its deliveries need not read it back. */
  remember(event: EventRow): void {
    this.drop(event.id);
    this.entries.set(event.id, { row: Promise.resolve(event), chars: 0 });
    this.sized(event.id, event);
  }

  get(id: string): Promise<EventRow | undefined> {
    const hit = this.entries.get(id);
    if (hit) {
      // Most recently used goes to the end of the map's order, which is what eviction walks.
      this.entries.delete(id);
      this.entries.set(id, hit);
      return hit.row;
    }
    const row = this.read(id);
    this.entries.set(id, { row, chars: 0 });
    // A failed read is not kept: the next delivery of the event tries again.
    row.then(
      (event) => this.sized(id, event),
      () => this.drop(id),
    );
    return row;
  }

  /** Bodies held now, in characters (for tests and gauges). */
  get heldChars(): number {
    return this.chars;
  }

  private sized(id: string, event: EventRow | undefined): void {
    const entry = this.entries.get(id);
    if (!entry || entry.chars > 0) return;
    entry.chars = event ? event.body.length : 0;
    this.chars += entry.chars;
    this.evict(id);
  }

  /** Oldest first, never the entry just used: one body over the whole budget is still served once. */
  private evict(keep: string): void {
    for (const [id, entry] of this.entries) {
      if (this.chars <= this.budgetChars) return;
      if (id === keep) continue;
      this.entries.delete(id);
      this.chars -= entry.chars;
    }
  }

  private drop(id: string): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.entries.delete(id);
    this.chars -= entry.chars;
  }
}
