/**
 * Index entries written together: every entry put or deleted in the same turn of the event loop —
 * by any task or delivery this process is working on — goes in one BatchWriteRow (up to 200 rows,
 * across tables). Tablestore bills per request, and a run finishes many tasks at once, each with a
 * due entry and a queue entry to drop and an event's entries to add.
 *
 * Index writes are unconditional and idempotent, so a row the batch could not write is written
 * alone, and each caller's promise settles only when its own entries are written: a caller that
 * awaits an entry (the new due entry of a move, before the old one goes) can rely on it.
 */
import type { Pk } from "./wire/values.js";

export type IndexOp = "PUT" | "DELETE";

export interface IndexEntry {
  readonly table: string;
  readonly pk: Pk;
  readonly op: IndexOp;
}

/** What the batch needs from the client: one BatchWriteRow, and one row written alone. */
export interface IndexWriter {
  /** Whether each entry was written, in the order given. */
  batch(entries: readonly IndexEntry[]): Promise<boolean[]>;
  single(entry: IndexEntry): Promise<void>;
}

/** BatchWriteRow's limit on rows per request. */
export const MAX_BATCH_ROWS = 200;

interface Pending extends IndexEntry {
  resolve(): void;
  reject(error: unknown): void;
}

export class IndexWrites {
  private pending: Pending[] = [];
  private readonly keys = new Set<string>();
  private scheduled = false;
  /** A batch the next one must follow: the one sent early because a row was written twice. */
  private before: Promise<void> | undefined;

  constructor(
    private readonly writer: IndexWriter,
    private readonly schedule: (flush: () => void) => void = (flush) => setImmediate(flush),
  ) {}

  put(table: string, pk: Pk): Promise<void> {
    return this.add({ table, pk, op: "PUT" });
  }

  remove(table: string, pk: Pk): Promise<void> {
    return this.add({ table, pk, op: "DELETE" });
  }

  private add(entry: IndexEntry): Promise<void> {
    // A batch may not name one row twice; a second write of a row starts the next batch, sent only
    // after the first is written, so the row ends as its last write says.
    const key = `${entry.table}\u0000${JSON.stringify(entry.pk)}`;
    if (this.keys.has(key)) this.before = this.flush();
    const done = new Promise<void>((resolve, reject) => this.pending.push({ ...entry, resolve, reject }));
    this.keys.add(key);
    if (this.pending.length >= MAX_BATCH_ROWS) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      this.schedule(() => {
        this.scheduled = false;
        this.flush();
      });
    }
    return done;
  }

  /** Sends what is pending now; resolves when it is written (its callers hear of failures). */
  flush(): Promise<void> {
    if (this.pending.length === 0) return Promise.resolve();
    const batch = this.pending;
    this.pending = [];
    this.keys.clear();
    const before = this.before;
    this.before = undefined;
    return before ? before.then(() => this.send(batch)) : this.send(batch);
  }

  private async send(batch: readonly Pending[]): Promise<void> {
    let written: boolean[];
    try {
      written = await this.writer.batch(batch);
    } catch (error) {
      // The request failed after its retries (not a row of it): Tablestore is not answering, and
      // 200 more requests would not help. Every caller hears why.
      for (const entry of batch) entry.reject(error);
      return;
    }
    await Promise.all(
      batch.map(async (entry, i) => {
        try {
          if (written[i] !== true) await this.writer.single(entry);
          entry.resolve();
        } catch (error) {
          entry.reject(error);
        }
      }),
    );
  }
}
