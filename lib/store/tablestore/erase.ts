/**
 * Deleting on Tablestore: an event with all its deliveries and every index entry that names them
 * (retention, and erasing a task). Rows go before the index entries that lead to them, so a crash
 * in between leaves entries without rows, which every reader already passes over.
 */

import { isFailing } from "../store.js";
import type { TablestoreClient } from "./client.js";
import { type Attrs, DELIVERY, keys, long, numOf, read, SHARD } from "./codecs.js";
import { TABLES } from "./schema.js";
import type { DueShards } from "./shards.js";
import { INF_MAX, INF_MIN, type Pk } from "./wire/values.js";

export class Eraser {
  constructor(
    private readonly db: TablestoreClient,
    private readonly shards: DueShards,
  ) {}

  /**
   * Up to `limit` events created before `beforeMs`, oldest first, each with its deliveries — but
   * never one with a pending delivery (its body is still to be sent).
   */
  async purgeBefore(beforeMs: number, limit: number): Promise<{ events: number; deliveries: number }> {
    const entries = await this.db.range(
      TABLES.eventTime,
      [{ shard: SHARD }, { created_at: INF_MIN }, { id: INF_MIN }],
      [{ shard: SHARD }, { created_at: long(beforeMs) }, { id: INF_MIN }],
      limit,
    );
    const purged = { events: 0, deliveries: 0 };
    for (const entry of entries) {
      const id = String(entry.id);
      const at = numOf(entry.created_at) ?? 0;
      // A create race's loser leaves an entry at its own time: only the event's own entry decides.
      const event = await this.db.get(TABLES.events, [{ id }], ["created_at"]);
      if (event && numOf(event.created_at) !== at) {
        await this.db.deleteRow(TABLES.eventTime, keys.eventTime(at, id));
        continue;
      }
      const gone = event ? await this.eraseEvent(id, { keepIfPending: true }) : 0;
      if (gone === undefined) continue;
      if (event) purged.events++;
      purged.deliveries += gone;
      // An entry whose event was already gone is dropped with it.
      await this.db.deleteRow(TABLES.eventTime, keys.eventTime(at, id));
    }
    return purged;
  }

  /** A task, its events and all their deliveries, pending ones too. False when there is no such task. */
  async eraseTask(workspaceId: string, taskId: string): Promise<boolean> {
    const events = await this.db.range(
      TABLES.taskEvents,
      [{ ws: workspaceId }, { task: taskId }, { event_id: INF_MIN }],
      [{ ws: workspaceId }, { task: taskId }, { event_id: INF_MAX }],
      1_000,
    );
    for (const e of events) {
      const id = String(e.event_id);
      const event = await this.db.get(TABLES.events, [{ id }], ["created_at"]);
      await this.eraseEvent(id, { keepIfPending: false });
      if (event) await this.db.deleteRow(TABLES.eventTime, keys.eventTime(numOf(event.created_at) ?? 0, id));
      await this.db.deleteRow(TABLES.taskEvents, [{ ws: workspaceId }, { task: taskId }, { event_id: id }]);
    }
    const task = await this.db.get(TABLES.tasks, keys.task(workspaceId, taskId));
    if (!task) return false;
    await this.db.deleteRow(TABLES.tasks, keys.task(workspaceId, taskId));
    await this.db.deleteRow(TABLES.taskDue, this.shards.taskDue(numOf(task.next_poll_at) ?? 0, workspaceId, taskId));
    await this.db.deleteRow(TABLES.taskQueue, keys.taskQueue(workspaceId, numOf(task.submitted_at) ?? 0, taskId));
    await this.db.deleteRow(TABLES.taskTime, keys.taskTime(numOf(task.registered_at) ?? 0, workspaceId, taskId));
    return true;
  }

  /**
   * An event's deliveries (with their index entries), then the event row. Undefined, and nothing
   * deleted, when `keepIfPending` and a delivery is pending; else how many deliveries went.
   */
  private async eraseEvent(eventId: string, options: { keepIfPending: boolean }): Promise<number | undefined> {
    const index = await this.db.range(
      TABLES.deliveryByEvent,
      [{ event_id: eventId }, { id: INF_MIN }],
      [{ event_id: eventId }, { id: INF_MAX }],
      10_000,
    );
    const rows = await this.db.batchGet(
      TABLES.deliveries,
      index.map((r): Pk => [{ id: String(r.id) }]),
    );
    const deliveries = rows.filter((a): a is Attrs => a !== undefined).map((a) => read(DELIVERY, a));
    if (options.keepIfPending && deliveries.some((d) => d.status === "pending")) return undefined;
    for (const d of deliveries) {
      await this.db.deleteRow(TABLES.deliveries, [{ id: d.id }]);
      if (d.status === "pending")
        await this.db.deleteRow(TABLES.deliveryDue, this.shards.deliveryDue(d.nextAttemptAtMs, d.id));
      await this.db.deleteRow(TABLES.deliveryByWebhook, keys.deliveryByWebhook(d.webhookId, d.createdAtMs, d.id));
      await this.db.deleteRow(TABLES.deliveryTime, keys.deliveryTime(d.createdAtMs, d.id));
      if (isFailing(d)) await this.db.deleteRow(TABLES.deliveryFailing, keys.deliveryFailing(d.createdAtMs, d.id));
    }
    for (const r of index)
      await this.db.deleteRow(TABLES.deliveryByEvent, [{ event_id: eventId }, { id: String(r.id) }]);
    await this.db.deleteRow(TABLES.events, [{ id: eventId }]);
    return deliveries.length;
  }
}
