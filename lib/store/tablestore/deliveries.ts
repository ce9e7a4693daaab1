/**
 * Deliveries on Tablestore: the delivery row, its due-time index (what claims and fan-out read),
 * and two lookup indexes (by event, by webhook) for listing. Claims are conditional updates in
 * parallel; an index entry that disagrees with its row is repaired by the claimer that meets it.
 */
import type { Pk } from "tablestore";
import { decodeCursor, encodeCursor } from "../cursor.js";
import type { Claim, DeliveryFilter, DeliveryRow, DeliveryUpdate, DuePosition, NewDelivery, Page } from "../store.js";
import {
  all,
  atMost,
  changes,
  condition,
  EXPECT_EXIST,
  EXPECT_NOT_EXIST,
  eq,
  IGNORE,
  putColumns,
  type TablestoreClient,
  TS,
} from "./client.js";
import { type Attrs, DELIVERY, keys, long, numOf, read, SHARD } from "./codecs.js";
import { CREATE_GRACE_MS, TABLES } from "./schema.js";

const toDelivery = (a: Attrs) => read(DELIVERY, a);
const byId = (ids: readonly string[]): Pk[] => ids.map((id) => [{ id }]);
const present = (rows: Array<Attrs | undefined>): DeliveryRow[] =>
  rows.filter((a): a is Attrs => a !== undefined).map(toDelivery);

export class DeliveryTable {
  constructor(private readonly db: TablestoreClient) {}

  async create(rows: readonly NewDelivery[]): Promise<string[]> {
    const index = (table: { name: string }, pk: Pk) => ({
      table: table.name,
      row: { type: "PUT", condition: condition(IGNORE), primaryKey: pk, attributeColumns: [{ _: true }] },
    });
    const indexRows = rows.flatMap((d) => [
      index(TABLES.deliveryDue, keys.deliveryDue(d.nextAttemptAtMs, d.id)),
      index(TABLES.deliveryByEvent, [{ event_id: d.eventId }, { id: d.id }]),
      index(TABLES.deliveryByWebhook, [{ webhook_id: d.webhookId }, { id: d.id }]),
    ]);
    for (const table of new Set(indexRows.map((r) => r.table))) {
      await this.db.batchWrite(
        table,
        indexRows.filter((r) => r.table === table).map((r) => r.row),
      );
    }
    const created = await this.db.batchWrite(
      TABLES.deliveries.name,
      rows.map((d) => ({
        type: "PUT",
        condition: condition(EXPECT_NOT_EXIST),
        primaryKey: [{ id: d.id }],
        attributeColumns: putColumns(
          Object.entries({
            event_id: d.eventId,
            webhook_id: d.webhookId,
            url: d.url,
            status: "pending",
            attempts: long(0),
            next_attempt_at: long(d.nextAttemptAtMs),
            lease_until: long(0),
            created_at: long(d.createdAtMs),
            event_type: d.eventType,
          }),
        ),
      })),
    );
    return rows.filter((_, i) => created[i]).map((d) => d.id);
  }

  async get(id: string): Promise<DeliveryRow | undefined> {
    const a = await this.db.get(TABLES.deliveries, [{ id }]);
    return a ? toDelivery(a) : undefined;
  }

  async list(filter: DeliveryFilter): Promise<Page<DeliveryRow>> {
    const after = decodeCursor(filter.cursor, 1)?.[0];
    const from = after === undefined ? TS.INF_MIN : `${after}\u0000`;
    const lookup = async (table: { name: string }, column: string, value: string) =>
      (
        await this.db.range(
          table,
          [{ [column]: value }, { id: from }],
          [{ [column]: value }, { id: TS.INF_MAX }],
          10_000,
        )
      ).map((r) => String(r.id));
    let ids: string[] | undefined;
    if (filter.eventId !== undefined) ids = await lookup(TABLES.deliveryByEvent, "event_id", filter.eventId);
    else if (filter.webhookId !== undefined)
      ids = await lookup(TABLES.deliveryByWebhook, "webhook_id", filter.webhookId);
    const rows = ids
      ? present(await this.db.batchGet(TABLES.deliveries, byId(ids)))
      : (await this.db.range(TABLES.deliveries, [{ id: from }], [{ id: TS.INF_MAX }], 100_000)).map(toDelivery);
    const matching = rows.filter(
      (d) =>
        (!filter.status || d.status === filter.status) &&
        (!filter.webhookId || d.webhookId === filter.webhookId) &&
        (!filter.eventId || d.eventId === filter.eventId) &&
        (!filter.eventType || d.eventType === filter.eventType) &&
        (!filter.sinceMs || d.createdAtMs >= filter.sinceMs),
    );
    const items = matching.slice(0, filter.limit);
    const last = items[items.length - 1];
    return { items, cursor: matching.length > filter.limit && last ? encodeCursor([last.id]) : undefined };
  }

  async due(nowMs: number, limit: number, after?: DuePosition): Promise<DuePosition[]> {
    // The index also holds leased (in-flight) and stale entries; reading the rows (100 per request)
    // filters them, which is cheaper than handing a deliver function ids it cannot claim. Reading
    // goes on past them, up to a bound, so a large in-flight set does not hide what is due behind it.
    const end: Pk = [{ shard: SHARD }, { due_at: long(nowMs + 1) }, { id: TS.INF_MIN }];
    const due: DuePosition[] = [];
    let from = after;
    for (let scanned = 0; due.length < limit && scanned < limit * 10; ) {
      const start: Pk = from
        ? keys.deliveryDue(from.dueMs, from.id)
        : [{ shard: SHARD }, { due_at: TS.INF_MIN }, { id: TS.INF_MIN }];
      const entries = (await this.db.range(TABLES.deliveryDue, start, end, Math.min(limit * 2, 1_000) + 1))
        .map((r) => ({ id: String(r.id), dueMs: numOf(r.due_at) ?? 0 }))
        .filter((e) => !from || e.dueMs !== from.dueMs || e.id !== from.id);
      if (entries.length === 0) break;
      scanned += entries.length;
      from = entries[entries.length - 1];
      const rows = await this.db.batchGet(TABLES.deliveries, byId(entries.map((e) => e.id)));
      rows.forEach((attrs, i) => {
        const entry = entries[i];
        if (!attrs || !entry || due.length >= limit) return;
        const d = toDelivery(attrs);
        // A stale entry (the row moved on) is skipped here; claims repair the index.
        if (d.status === "pending" && d.nextAttemptAtMs === entry.dueMs && d.leaseUntilMs <= nowMs) due.push(entry);
      });
    }
    return due;
  }

  /** From the due index: its entries count the pending (a stale one may count too), its first is the oldest. */
  async pending(nowMs: number, limit: number): Promise<{ count: number; oldestDueMs: number | undefined }> {
    const entries = await this.db.range(
      TABLES.deliveryDue,
      [{ shard: SHARD }, { due_at: TS.INF_MIN }, { id: TS.INF_MIN }],
      [{ shard: SHARD }, { due_at: TS.INF_MAX }, { id: TS.INF_MAX }],
      limit,
    );
    const first = numOf(entries[0]?.due_at);
    return { count: entries.length, oldestDueMs: first !== undefined && first <= nowMs ? first : undefined };
  }

  async claimDue(claim: Claim & { ids?: readonly string[] }): Promise<DeliveryRow[]> {
    const candidates: Array<{ id: string; due: number | undefined }> = claim.ids
      ? claim.ids.map((id) => ({ id, due: undefined }))
      : (
          await this.db.range(
            TABLES.deliveryDue,
            [{ shard: SHARD }, { due_at: TS.INF_MIN }, { id: TS.INF_MIN }],
            [{ shard: SHARD }, { due_at: long(claim.nowMs + 1) }, { id: TS.INF_MIN }],
            claim.limit * 4,
          )
        ).map((r) => ({ id: String(r.id), due: numOf(r.due_at) }));
    const claimed: string[] = [];
    const tryClaim = async ({ id, due }: { id: string; due: number | undefined }): Promise<void> => {
      const dueCondition =
        due === undefined ? atMost("next_attempt_at", long(claim.nowMs)) : eq("next_attempt_at", long(due));
      const ok = await this.db.write((c) =>
        c.updateRow({
          tableName: TABLES.deliveries.name,
          condition: condition(
            EXPECT_EXIST,
            all(eq("status", "pending"), dueCondition, atMost("lease_until", long(claim.nowMs))),
          ),
          primaryKey: [{ id }],
          updateOfAttributeColumns: [
            { PUT: [{ lease_owner: claim.owner }, { lease_until: long(claim.nowMs + claim.leaseMs) }] },
          ],
        }),
      );
      if (ok) claimed.push(id);
      else if (due !== undefined) await this.repairDue(id, due, claim.nowMs);
    };
    // Conditional updates in parallel, never more at once than the claims still wanted, so a claim
    // is one round trip's latency per group rather than per row, and never takes more than `limit`.
    for (let next = 0; claimed.length < claim.limit && next < candidates.length; ) {
      const group = candidates.slice(next, next + claim.limit - claimed.length);
      next += group.length;
      await Promise.all(group.map(tryClaim));
    }
    const rows = present(await this.db.batchGet(TABLES.deliveries, byId(claimed)));
    return rows.sort((a, b) => a.nextAttemptAtMs - b.nextAttemptAtMs);
  }

  /** Re-indexes or drops a due entry that disagrees with its delivery. */
  private async repairDue(id: string, due: number, nowMs: number): Promise<void> {
    const d = await this.get(id);
    if (!d && due > nowMs - CREATE_GRACE_MS) return; // its delivery may still be being created
    if (d?.status === "pending" && d.nextAttemptAtMs === due) return;
    if (d?.status === "pending") await this.db.putIndex(TABLES.deliveryDue, keys.deliveryDue(d.nextAttemptAtMs, id));
    await this.db.deleteRow(TABLES.deliveryDue, keys.deliveryDue(due, id));
  }

  private async moveDue(id: string, from: number, to: number | undefined): Promise<void> {
    if (to !== undefined && to !== from) await this.db.putIndex(TABLES.deliveryDue, keys.deliveryDue(to, id));
    if (to !== from) await this.db.deleteRow(TABLES.deliveryDue, keys.deliveryDue(from, id));
  }

  async update(d: DeliveryRow, owner: string, u: DeliveryUpdate): Promise<boolean> {
    const { id } = d;
    const ok = await this.db.write((c) =>
      c.updateRow({
        tableName: TABLES.deliveries.name,
        condition: condition(EXPECT_EXIST, eq("lease_owner", owner)),
        primaryKey: [{ id }],
        updateOfAttributeColumns: changes({
          status: u.status,
          attempts: long(u.attempts),
          next_attempt_at: long(u.nextAttemptAtMs),
          last_attempt_at: long(u.lastAttemptAtMs),
          last_status_code: u.lastStatusCode === undefined ? undefined : long(u.lastStatusCode),
          last_error: u.lastError,
          last_response: u.lastResponse,
          ...(u.deliveredAtMs !== undefined ? { delivered_at: long(u.deliveredAtMs) } : {}),
          ...(u.attemptLog !== undefined ? { attempt_log: JSON.stringify(u.attemptLog) } : {}),
          lease_owner: undefined,
          lease_until: long(0),
        }),
      }),
    );
    if (ok) await this.moveDue(id, d.nextAttemptAtMs, u.status === "pending" ? u.nextAttemptAtMs : undefined);
    return ok;
  }

  async replay(id: string, nowMs: number): Promise<DeliveryRow | undefined> {
    const d = await this.get(id);
    if (!d) return undefined;
    const ok = await this.db.write((c) =>
      c.updateRow({
        tableName: TABLES.deliveries.name,
        condition: condition(EXPECT_EXIST),
        primaryKey: [{ id }],
        updateOfAttributeColumns: changes({
          status: "pending",
          next_attempt_at: long(nowMs),
          lease_owner: undefined,
          lease_until: long(0),
        }),
      }),
    );
    if (!ok) return undefined;
    await this.db.putIndex(TABLES.deliveryDue, keys.deliveryDue(nowMs, id));
    if (d.status === "pending" && d.nextAttemptAtMs !== nowMs)
      await this.db.deleteRow(TABLES.deliveryDue, keys.deliveryDue(d.nextAttemptAtMs, id));
    return this.get(id);
  }
}
