/**
 * Deliveries on Tablestore: the delivery row, its due-time index (what claims and fan-out read),
 * the by-event lookup, and the creation-time indexes the newest-first lists read (every delivery,
 * a webhook's, the failing). Claims are conditional updates in parallel; an index entry that
 * disagrees with its row is repaired by the claimer that meets it, or passed over by the lists.
 */

import {
  type Claim,
  type DeliveryFilter,
  type DeliveryRow,
  type DeliveryUpdate,
  type DuePosition,
  isFailing,
  type NewDelivery,
  type Page,
} from "../store.js";
import {
  all,
  atMost,
  changes,
  condition,
  EXPECT_EXIST,
  EXPECT_NOT_EXIST,
  eq,
  putColumns,
  type TablestoreClient,
} from "./client.js";
import { type Attrs, DELIVERY, keys, long, numOf, read } from "./codecs.js";
import { listDeliveries } from "./delivery-lists.js";
import { LeasesSeen } from "./leases-seen.js";
import { CREATE_GRACE_MS, TABLES } from "./schema.js";
import type { DueShards } from "./shards.js";
import { INF_MAX, INF_MIN, type Pk } from "./wire/values.js";

const toDelivery = (a: Attrs) => read(DELIVERY, a);
const byId = (ids: readonly string[]): Pk[] => ids.map((id) => [{ id }]);
const present = (rows: Array<Attrs | undefined>): DeliveryRow[] =>
  rows.filter((a): a is Attrs => a !== undefined).map(toDelivery);

/** A due entry: a delivery due at a time (a rescheduled delivery is a new entry). */
const entryKey = (id: string, due: number) => `${id}\u0000${due}`;

interface DueEntry {
  readonly shard: string;
  readonly due: number;
}

/** A delivery to claim: found through its due entry, or named by id (a fan-out batch). */
interface Candidate {
  readonly id: string;
  readonly entry?: DueEntry;
}

export class DeliveryTable {
  /** Leased rows whose due entries claims pass over (see leases-seen.ts). */
  private readonly leases = new LeasesSeen();

  constructor(
    private readonly db: TablestoreClient,
    private readonly shards: DueShards,
  ) {}

  async create(rows: readonly NewDelivery[]): Promise<string[]> {
    // Index entries first (one batch across the three tables): a crash after them leaves entries
    // that readers repair, never a delivery no index finds.
    await this.db.putIndexes(
      rows.flatMap((d) => [
        { table: TABLES.deliveryDue, pk: this.shards.deliveryDue(d.nextAttemptAtMs, d.id) },
        { table: TABLES.deliveryByEvent, pk: [{ event_id: d.eventId }, { id: d.id }] as Pk },
        { table: TABLES.deliveryByWebhook, pk: keys.deliveryByWebhook(d.webhookId, d.createdAtMs, d.id) },
        { table: TABLES.deliveryTime, pk: keys.deliveryTime(d.createdAtMs, d.id) },
      ]),
    );
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
            lease_owner: d.leaseOwner,
            lease_until: long(d.leaseUntilMs ?? 0),
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

  list(filter: DeliveryFilter): Promise<Page<DeliveryRow>> {
    return listDeliveries(this.db, filter);
  }

  async due(nowMs: number, limit: number, after?: DuePosition): Promise<DuePosition[]> {
    // The index also holds leased (in-flight) and stale entries; reading the rows (100 per request)
    // filters them, which is cheaper than handing a deliver function ids it cannot claim. Reading
    // goes on past them, up to a bound, so a large in-flight set does not hide what is due behind it.
    const shards = await this.shards.round();
    const due: DuePosition[] = [];
    const chunk = Math.min(limit * 2, 1_000);
    let from = after;
    for (let scanned = 0; due.length < limit && scanned < limit * 10; ) {
      const { entries, complete } = await this.dueAfter(shards, from, nowMs, chunk);
      if (entries.length === 0) break;
      scanned += entries.length;
      from = entries[entries.length - 1];
      const rows = await this.db.batchGet(TABLES.deliveries, byId(entries.map((e) => e.id)));
      rows.forEach((attrs, i) => {
        const entry = entries[i];
        if (!attrs || !entry || due.length >= limit) return;
        const d = toDelivery(attrs);
        // A stale entry (the row moved on) is skipped here; claims repair the index.
        if (d.status === "pending" && d.nextAttemptAtMs === entry.dueMs && d.leaseUntilMs <= nowMs)
          due.push({ id: entry.id, dueMs: entry.dueMs });
      });
      if (complete) break;
    }
    return due;
  }

  /**
   * Due entries strictly after `from` in (due, id) order across the shards: each shard read up to
   * `chunk`, merged, and cut where the first full shard stops (beyond it another entry may sort in).
   */
  private async dueAfter(shards: readonly string[], from: DuePosition | undefined, nowMs: number, chunk: number) {
    const reads = await Promise.all(
      shards.map(async (shard) => {
        const start: Pk = from
          ? keys.deliveryDue(shard, from.dueMs, `${from.id}\u0000`)
          : [{ shard }, { due_at: INF_MIN }, { id: INF_MIN }];
        const end: Pk = [{ shard }, { due_at: long(nowMs + 1) }, { id: INF_MIN }];
        const rows = await this.db.range(TABLES.deliveryDue, start, end, chunk);
        return {
          full: rows.length >= chunk,
          rows: rows.map((r) => ({ id: String(r.id), dueMs: numOf(r.due_at) ?? 0 })),
        };
      }),
    );
    const order = (a: DuePosition, b: DuePosition) => a.dueMs - b.dueMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
    const horizon = reads
      .filter((r) => r.full)
      .map((r) => r.rows[r.rows.length - 1] as DuePosition)
      .sort(order)[0];
    const entries = reads
      .flatMap((r) => r.rows)
      .filter((e) => !horizon || order(e, horizon) <= 0)
      .sort(order);
    return { entries, complete: horizon === undefined };
  }

  /** From the due index: its entries count the pending (a stale one may count too), its first is the oldest. */
  async pending(nowMs: number, limit: number): Promise<{ count: number; oldestDueMs: number | undefined }> {
    let count = 0;
    let oldest: number | undefined;
    for (const shard of await this.shards.round()) {
      if (count >= limit) break;
      const entries = await this.db.range(
        TABLES.deliveryDue,
        [{ shard }, { due_at: INF_MIN }, { id: INF_MIN }],
        [{ shard }, { due_at: INF_MAX }, { id: INF_MAX }],
        limit - count,
      );
      count += entries.length;
      const first = numOf(entries[0]?.due_at);
      if (first !== undefined && first <= nowMs && (oldest === undefined || first < oldest)) oldest = first;
    }
    return { count, oldestDueMs: oldest };
  }

  async claimDue(claim: Claim & { ids?: readonly string[] }): Promise<DeliveryRow[]> {
    const claimed: string[] = [];
    // Conditional updates in parallel, never more at once than the claims still wanted, so a claim
    // is one round trip's latency per group rather than per row, and never takes more than `limit`.
    const take = async (candidates: readonly Candidate[]) => {
      for (let next = 0; claimed.length < claim.limit && next < candidates.length; ) {
        const group = candidates.slice(next, next + claim.limit - claimed.length);
        next += group.length;
        const failed: Array<{ id: string; entry: DueEntry }> = [];
        await Promise.all(
          group.map(async (c) => {
            if (await this.claimOne(c, claim)) claimed.push(c.id);
            else if (c.entry) failed.push({ id: c.id, entry: c.entry });
          }),
        );
        await this.repairDue(failed, claim.nowMs);
      }
    };
    if (claim.ids) await take(claim.ids.map((id) => ({ id })));
    else {
      const shards = await this.shards.round();
      for (const shard of shards) {
        if (claimed.length >= claim.limit) break;
        const entries = await this.db.range(
          TABLES.deliveryDue,
          [{ shard }, { due_at: INF_MIN }, { id: INF_MIN }],
          [{ shard }, { due_at: long(claim.nowMs + 1) }, { id: INF_MIN }],
          this.leases.window(claim.limit - claimed.length, claim.nowMs),
        );
        const window = entries
          .map((r) => ({ id: String(r.id), entry: { shard, due: numOf(r.due_at) ?? 0 } }))
          .filter((c) => !this.leases.held(entryKey(c.id, c.entry.due), claim.nowMs));
        await take(this.shards.rotate(window, shards.length));
      }
    }
    const rows = present(await this.db.batchGet(TABLES.deliveries, byId(claimed)));
    return rows.sort((a, b) => a.nextAttemptAtMs - b.nextAttemptAtMs);
  }

  private async claimOne({ id, entry }: Candidate, claim: Claim): Promise<boolean> {
    const dueCondition =
      entry === undefined ? atMost("next_attempt_at", long(claim.nowMs)) : eq("next_attempt_at", long(entry.due));
    const ok = await this.db.update({
      tableName: TABLES.deliveries.name,
      condition: condition(
        EXPECT_EXIST,
        all(eq("status", "pending"), dueCondition, atMost("lease_until", long(claim.nowMs))),
      ),
      primaryKey: [{ id }],
      updateOfAttributeColumns: [
        { PUT: [{ lease_owner: claim.owner }, { lease_until: long(claim.nowMs + claim.leaseMs) }] },
      ],
    });
    if (ok && entry) this.leases.hold(entryKey(id, entry.due), claim.nowMs + claim.leaseMs);
    return ok;
  }

  /**
   * After claims that failed: their deliveries read in one request, and each entry that disagrees
   * with its delivery re-indexed or dropped; one that is right is leased by another claimer, and
   * passed over until that lease ends.
   */
  private async repairDue(failed: ReadonlyArray<{ id: string; entry: DueEntry }>, nowMs: number): Promise<void> {
    if (failed.length === 0) return;
    const rows = await this.db.batchGet(TABLES.deliveries, byId(failed.map((f) => f.id)));
    await Promise.all(
      failed.map(async ({ id, entry }, i) => {
        const a = rows[i];
        const d = a ? toDelivery(a) : undefined;
        if (!d && entry.due > nowMs - CREATE_GRACE_MS) return; // its delivery may still be being created
        if (d?.status === "pending" && d.nextAttemptAtMs === entry.due) {
          if (d.leaseUntilMs > nowMs) this.leases.hold(entryKey(id, entry.due), d.leaseUntilMs);
          return;
        }
        if (d?.status === "pending")
          await this.db.putIndex(TABLES.deliveryDue, this.shards.deliveryDue(d.nextAttemptAtMs, id));
        // Where it was found: written under another shard count, it is not where this count puts it.
        await this.db.deleteIndex(TABLES.deliveryDue, keys.deliveryDue(entry.shard, entry.due, id));
      }),
    );
  }

  private async moveDue(id: string, from: number, to: number | undefined): Promise<void> {
    if (to !== undefined && to !== from) await this.db.putIndex(TABLES.deliveryDue, this.shards.deliveryDue(to, id));
    if (to !== from) await this.db.deleteIndex(TABLES.deliveryDue, this.shards.deliveryDue(from, id));
  }

  async update(d: DeliveryRow, owner: string, u: DeliveryUpdate): Promise<boolean> {
    const { id } = d;
    this.leases.release(entryKey(id, d.nextAttemptAtMs));
    const ok = await this.db.update({
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
    });
    if (ok) {
      await this.moveDue(id, d.nextAttemptAtMs, u.status === "pending" ? u.nextAttemptAtMs : undefined);
      await this.moveFailing(d, isFailing(u));
    }
    return ok;
  }

  /** Enters a delivery in the failing index, or takes it out, as its new state says. */
  private async moveFailing(d: DeliveryRow, failing: boolean): Promise<void> {
    const pk = keys.deliveryFailing(d.createdAtMs, d.id);
    if (failing && !isFailing(d)) await this.db.putIndex(TABLES.deliveryFailing, pk);
    else if (!failing && isFailing(d)) await this.db.deleteIndex(TABLES.deliveryFailing, pk);
  }

  async release(d: DeliveryRow, owner: string, nextAttemptAtMs: number): Promise<boolean> {
    const { id } = d;
    this.leases.release(entryKey(id, d.nextAttemptAtMs));
    const ok = await this.db.update({
      tableName: TABLES.deliveries.name,
      condition: condition(EXPECT_EXIST, all(eq("lease_owner", owner), eq("status", "pending"))),
      primaryKey: [{ id }],
      updateOfAttributeColumns: changes({
        next_attempt_at: long(nextAttemptAtMs),
        lease_owner: undefined,
        lease_until: long(0),
      }),
    });
    if (ok) await this.moveDue(id, d.nextAttemptAtMs, nextAttemptAtMs);
    return ok;
  }

  async replay(id: string, nowMs: number): Promise<DeliveryRow | undefined> {
    const d = await this.get(id);
    if (!d) return undefined;
    const ok = await this.db.update({
      tableName: TABLES.deliveries.name,
      condition: condition(EXPECT_EXIST),
      primaryKey: [{ id }],
      updateOfAttributeColumns: changes({
        status: "pending",
        next_attempt_at: long(nowMs),
        lease_owner: undefined,
        lease_until: long(0),
      }),
    });
    if (!ok) return undefined;
    await this.db.putIndex(TABLES.deliveryDue, this.shards.deliveryDue(nowMs, id));
    await this.moveFailing(d, isFailing({ status: "pending", attempts: d.attempts }));
    if (d.status === "pending" && d.nextAttemptAtMs !== nowMs)
      await this.db.deleteIndex(TABLES.deliveryDue, this.shards.deliveryDue(d.nextAttemptAtMs, id));
    return this.get(id);
  }
}
