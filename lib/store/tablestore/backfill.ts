/**
 * An upgrade's backfill: when `init` has just created a time index, every row written before it is
 * entered once, so the newest-first lists show what the relay already had. Rows are read in key
 * order a page at a time; the entries are index puts, safe to write again.
 */
import { isFailing } from "../store.js";
import type { TablestoreClient } from "./client.js";
import { type Attrs, DELIVERY, keys, numOf, read } from "./codecs.js";
import { TABLES } from "./schema.js";
import { INF_MAX, INF_MIN, type Pk } from "./wire/values.js";

const PAGE = 1_000;

/** Calls `enter` for every row of `table`, page by page; `after` is the key just past a row. */
async function eachRow(
  db: TablestoreClient,
  table: { readonly name: string },
  first: Pk,
  last: Pk,
  after: (row: Attrs) => Pk,
  enter: (rows: readonly Attrs[]) => Promise<void>,
): Promise<number> {
  let start = first;
  let count = 0;
  for (;;) {
    const rows = await db.range(table, start, last, PAGE);
    await enter(rows);
    count += rows.length;
    const tail = rows[rows.length - 1];
    if (rows.length < PAGE || !tail) return count;
    start = after(tail);
  }
}

/** Enters the rows of the tables whose time index `created` names; returns how many rows it read. */
export async function backfillTimeIndexes(db: TablestoreClient, created: readonly string[]): Promise<number> {
  let rows = 0;
  if (created.includes(TABLES.taskTime.name))
    rows += await eachRow(
      db,
      TABLES.tasks,
      [{ ws: INF_MIN }, { task: INF_MIN }],
      [{ ws: INF_MAX }, { task: INF_MAX }],
      (t): Pk => [{ ws: String(t.ws) }, { task: `${String(t.task)}\u0000` }],
      (tasks) =>
        db.putIndexes(
          tasks.map((t) => ({
            table: TABLES.taskTime,
            pk: keys.taskTime(numOf(t.registered_at) ?? 0, String(t.ws), String(t.task)),
          })),
        ),
    );
  const deliveryIndexes = [TABLES.deliveryTime, TABLES.deliveryByWebhook, TABLES.deliveryFailing].filter((t) =>
    created.includes(t.name),
  );
  if (deliveryIndexes.length > 0)
    rows += await eachRow(
      db,
      TABLES.deliveries,
      [{ id: INF_MIN }],
      [{ id: INF_MAX }],
      (d): Pk => [{ id: `${String(d.id)}\u0000` }],
      (page) =>
        db.putIndexes(
          page
            .map((a) => read(DELIVERY, a))
            .flatMap((d) => {
              const entries = {
                [TABLES.deliveryTime.name]: keys.deliveryTime(d.createdAtMs, d.id),
                [TABLES.deliveryByWebhook.name]: keys.deliveryByWebhook(d.webhookId, d.createdAtMs, d.id),
                [TABLES.deliveryFailing.name]: isFailing(d) ? keys.deliveryFailing(d.createdAtMs, d.id) : undefined,
              };
              return deliveryIndexes.flatMap((table) => {
                const pk = entries[table.name];
                return pk ? [{ table, pk }] : [];
              });
            }),
        ),
    );
  return rows;
}
