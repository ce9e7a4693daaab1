/**
 * Row writes batched across the process: every small write issued in the same turn of the event
 * loop — index entries put or dropped, claims, results, new events and deliveries, by any task or
 * delivery this process is working on — goes in one BatchWriteRow (up to 200 rows, across tables).
 * Tablestore bills per request, and a run claims, finishes and delivers many tasks at once.
 *
 * Each row keeps its own condition, and BatchWriteRow answers row by row, so a batched write means
 * what it would alone: true when written, false when its condition failed. A row the batch could
 * not write for another reason (a busy partition) is written alone, with the client's retry. Each
 * caller's promise settles only when its own row is written: a caller that awaits a write (an index
 * entry before its row) can rely on it.
 */
import { IGNORE, type RowChange } from "./wire/messages.js";
import type { Pk } from "./wire/values.js";

export interface RowWrite {
  readonly table: string;
  readonly change: RowChange;
}

/** What the batch needs from the client: one BatchWriteRow, and one row written alone. */
export interface RowWriter {
  /** Per write, in order: true written, false its condition failed, undefined failed otherwise. */
  batch(writes: readonly RowWrite[]): Promise<Array<boolean | undefined>>;
  /** One row alone: true written, false its condition failed. */
  single(write: RowWrite): Promise<boolean>;
}

/** BatchWriteRow's limit on rows per request. */
export const MAX_BATCH_ROWS = 200;
/** The request limit is 4 MB; a batch is sent before its rows' estimated size passes this. */
export const MAX_BATCH_BYTES = 2 * 1024 * 1024;

interface Pending extends RowWrite {
  resolve(written: boolean): void;
  reject(error: unknown): void;
}

/** An index entry: its key is all it says. */
export const indexPut = (pk: Pk): RowChange => ({
  type: "PUT",
  condition: { existence: IGNORE },
  primaryKey: pk,
  attributeColumns: [{ _: true }],
});
export const indexDelete = (pk: Pk): RowChange => ({
  type: "DELETE",
  condition: { existence: IGNORE },
  primaryKey: pk,
});

export class RowWrites {
  private pending: Pending[] = [];
  private bytes = 0;
  private readonly keys = new Set<string>();
  private scheduled = false;
  /** A batch the next one must follow: the one sent early because a row was written twice. */
  private before: Promise<void> | undefined;

  constructor(
    private readonly writer: RowWriter,
    private readonly schedule: (flush: () => void) => void = (flush) => setImmediate(flush),
  ) {}

  write(table: string, change: RowChange): Promise<boolean> {
    // A batch may not name one row twice; a second write of a row starts the next batch, sent only
    // after the first is written, so the row ends as its last write says.
    const key = `${table}\u0000${JSON.stringify(change.primaryKey)}`;
    if (this.keys.has(key)) this.before = this.flush();
    const size = approximateSize(change);
    if (this.bytes + size > MAX_BATCH_BYTES) this.flush();
    const done = new Promise<boolean>((resolve, reject) => this.pending.push({ table, change, resolve, reject }));
    this.keys.add(key);
    this.bytes += size;
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
    this.bytes = 0;
    this.keys.clear();
    const before = this.before;
    this.before = undefined;
    return before ? before.then(() => this.send(batch)) : this.send(batch);
  }

  private async send(batch: readonly Pending[]): Promise<void> {
    let written: Array<boolean | undefined>;
    try {
      written = await this.writer.batch(batch);
    } catch (error) {
      // Refused for good (a parameter the service rejects): one row may have spoiled the request for
      // all, so each is written alone and fails only its own caller. Failed after its retries:
      // Tablestore is not answering, and 200 more requests would not help; every caller hears why.
      if ((error as { retryable?: unknown } | undefined)?.retryable === false && batch.length > 1) {
        await this.settle(
          batch,
          batch.map(() => undefined),
        );
        return;
      }
      for (const w of batch) w.reject(error);
      return;
    }
    await this.settle(batch, written);
  }

  /** Settles each write: by the batch's outcome for it, or written alone where it has none. */
  private async settle(batch: readonly Pending[], written: ReadonlyArray<boolean | undefined>): Promise<void> {
    await Promise.all(
      batch.map(async (w, i) => {
        try {
          const outcome = written[i];
          w.resolve(outcome === undefined ? await this.writer.single(w) : outcome);
        } catch (error) {
          w.reject(error);
        }
      }),
    );
  }
}

/** Bytes a row adds to a request, roughly: its column names and values. */
function approximateSize(change: RowChange): number {
  let n = 64;
  const add = (columns: ReadonlyArray<Record<string, unknown>>) => {
    for (const column of columns) {
      for (const name in column) {
        const v = column[name];
        n += name.length + 16 + (typeof v === "string" ? v.length * 3 : v instanceof Uint8Array ? v.length : 8);
      }
    }
  };
  add(change.primaryKey);
  if (change.type === "PUT") add(change.attributeColumns);
  if (change.type === "UPDATE") for (const u of change.updateOfAttributeColumns) add(u.PUT ?? []);
  return n;
}
