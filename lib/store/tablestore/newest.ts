/**
 * Newest-first pages on Tablestore: a backward GetRange over an index keyed by (a prefix, a time,
 * the row's key), the rows read 100 per request and filtered. An entry whose row is gone or was
 * written at another time (a create race's loser, a crashed creator) is passed over.
 *
 * A read stops after `budget` entries, so a filter that matches few rows costs a bounded read: its
 * page may then hold fewer items than asked for, with a cursor that goes on from the last entry
 * read. The cursor is a position in the index, so new entries (which sort first) never shift it.
 */
import { decodeTimeCursor, encodeTimeCursor, type TimeKey } from "../cursor.js";
import type { Page } from "../store.js";
import type { TablestoreClient } from "./client.js";
import { type Attrs, long, numOf } from "./codecs.js";
import { INF_MAX, INF_MIN, type Pk, type PkValue } from "./wire/values.js";

export interface TimeIndex<T> {
  readonly table: { readonly name: string };
  /** The key columns before the time (a shard, a webhook id), fixed for one list. */
  readonly prefix: Pk;
  readonly time: string;
  /** The key columns after the time: the row's own key. */
  readonly rest: readonly string[];
  /** The rows the entries name, in order; undefined where there is none at the entry's time. */
  rows(entries: readonly Attrs[]): Promise<Array<T | undefined>>;
  matches(row: T): boolean;
}

/** Index entries read per page at most, past the `limit + 1` a full page needs. */
const BUDGET = 1_000;

export async function newestPage<T>(
  db: TablestoreClient,
  index: TimeIndex<T>,
  filter: { readonly limit: number; readonly cursor?: string | undefined; readonly sinceMs?: number | undefined },
): Promise<Page<T>> {
  const keyOf = (a: Attrs): TimeKey => [numOf(a[index.time]) ?? 0, ...index.rest.map((c) => String(a[c]))];
  const pk = (key: TimeKey): Pk => [
    ...index.prefix,
    { [index.time]: long(key[0]) },
    ...index.rest.map((c, i) => ({ [c]: key[i + 1] as string })),
  ];
  const same = (a: TimeKey, b: TimeKey) => a.every((v, i) => v === b[i]);
  const budget = Math.max(BUDGET, 2 * (filter.limit + 1));
  let position = decodeTimeCursor(filter.cursor, 1 + index.rest.length);
  const bound = (time: PkValue, rest: PkValue): Pk => [
    ...index.prefix,
    { [index.time]: time } as Record<string, PkValue>,
    ...index.rest.map((c): Record<string, PkValue> => ({ [c]: rest })),
  ];
  let start: Pk = position ? pk(position) : bound(INF_MAX, INF_MAX);
  const end = bound(filter.sinceMs === undefined ? INF_MIN : long(filter.sinceMs), INF_MIN);
  const items: T[] = [];
  let scanned = 0;
  let more = false;
  reading: for (;;) {
    // One more than wanted when the start is the last entry read, which comes again.
    const want = Math.min(budget - scanned, Math.max(100, filter.limit + 2)) + (position ? 1 : 0);
    const read = await db.range(index.table, start, end, want, true);
    // The start is inclusive: the entry the cursor names was on the page before.
    const entries = position && read[0] && same(keyOf(read[0]), position) ? read.slice(1) : read;
    const rows = await index.rows(entries);
    for (const [i, entry] of entries.entries()) {
      const row = rows[i];
      if (row !== undefined && index.matches(row)) {
        if (items.length === filter.limit) {
          more = true;
          break reading;
        }
        items.push(row);
      }
      position = keyOf(entry);
      scanned++;
    }
    if (read.length < want || !position) break; // the index ends here
    if (scanned >= budget) {
      more = true;
      break;
    }
    start = pk(position);
  }
  return { items, cursor: more && position ? encodeTimeCursor(position) : undefined };
}

/** Rows by key from their index entries, kept only where the row's time is the entry's. */
export async function rowsAtTime<T>(
  db: TablestoreClient,
  table: { readonly name: string },
  entries: readonly Attrs[],
  key: (entry: Attrs) => Pk,
  time: string,
  decode: (a: Attrs) => T,
): Promise<Array<T | undefined>> {
  const rows = await db.batchGet(table, entries.map(key));
  return rows.map((a, i) =>
    a && numOf(a[time]) === numOf(entries[i]?.[time]) && numOf(a[time]) !== undefined ? decode(a) : undefined,
  );
}
