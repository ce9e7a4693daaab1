/** Listing deliveries on Tablestore, newest first (see newest.ts for the walk of a time index). */
import { decodeTimeCursor, encodeTimeCursor } from "../cursor.js";
import { type DeliveryFilter, type DeliveryRow, isFailing, type Page } from "../store.js";
import type { TablestoreClient } from "./client.js";
import { type Attrs, DELIVERY, read, SHARD } from "./codecs.js";
import { newestPage, rowsAtTime } from "./newest.js";
import { TABLES } from "./schema.js";
import { INF_MAX, INF_MIN } from "./wire/values.js";

const toDelivery = (a: Attrs) => read(DELIVERY, a);

/**
 * Newest first. By event: its few deliveries, sorted here. Else through a creation-time index: a
 * webhook's, the failing (for the failed and the dead), or every delivery; the other filters are
 * applied to the rows.
 */
export async function listDeliveries(db: TablestoreClient, filter: DeliveryFilter): Promise<Page<DeliveryRow>> {
  const { status } = filter;
  const matches = (d: DeliveryRow) =>
    (!status || (status === "failed" ? isFailing(d) : d.status === status)) &&
    (!filter.webhookId || d.webhookId === filter.webhookId) &&
    (!filter.eventId || d.eventId === filter.eventId) &&
    (!filter.eventType || d.eventType === filter.eventType) &&
    (filter.sinceMs === undefined || d.createdAtMs >= filter.sinceMs);
  if (filter.eventId !== undefined) return listOfEvent(db, filter.eventId, filter, matches);
  const [table, prefix] =
    filter.webhookId !== undefined
      ? [TABLES.deliveryByWebhook, [{ webhook_id: filter.webhookId }]]
      : status === "failed" || status === "dead"
        ? [TABLES.deliveryFailing, [{ shard: SHARD }]]
        : [TABLES.deliveryTime, [{ shard: SHARD }]];
  return newestPage(
    db,
    {
      table,
      prefix,
      time: "created_at",
      rest: ["id"],
      rows: (entries) =>
        rowsAtTime(db, TABLES.deliveries, entries, (e) => [{ id: String(e.id) }], "created_at", toDelivery),
      matches,
    },
    filter,
  );
}

async function listOfEvent(
  db: TablestoreClient,
  eventId: string,
  filter: DeliveryFilter,
  matches: (d: DeliveryRow) => boolean,
): Promise<Page<DeliveryRow>> {
  const before = decodeTimeCursor(filter.cursor, 2);
  const index = await db.range(
    TABLES.deliveryByEvent,
    [{ event_id: eventId }, { id: INF_MIN }],
    [{ event_id: eventId }, { id: INF_MAX }],
    10_000,
  );
  type Key = { readonly createdAtMs: number; readonly id: string };
  const newer = (a: Key, b: Key) => a.createdAtMs > b.createdAtMs || (a.createdAtMs === b.createdAtMs && a.id > b.id);
  const cursor: Key | undefined = before && { createdAtMs: before[0], id: String(before[1]) };
  const rows = (
    await db.batchGet(
      TABLES.deliveries,
      index.map((r) => [{ id: String(r.id) }]),
    )
  )
    .filter((a): a is Attrs => a !== undefined)
    .map(toDelivery)
    .filter((d) => matches(d) && (!cursor || newer(cursor, d)))
    .sort((a, b) => (newer(a, b) ? -1 : 1));
  const items = rows.slice(0, filter.limit);
  const last = items[items.length - 1];
  return {
    items,
    cursor: rows.length > filter.limit && last ? encodeTimeCursor([last.createdAtMs, last.id]) : undefined,
  };
}
