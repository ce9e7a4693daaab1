/** The store's tables and indexes (see the design in ../tablestore.ts), and creating them. */
import type { TablestoreClient } from "./client.js";
import { TablestoreError } from "./wire/ots-client.js";

export const TABLES = {
  tasks: {
    name: "relay_tasks",
    pk: [
      ["ws", "STRING"],
      ["task", "STRING"],
    ],
  },
  taskDue: {
    name: "relay_task_due",
    pk: [
      ["shard", "STRING"],
      ["due_at", "INTEGER"],
      ["ws", "STRING"],
      ["task", "STRING"],
    ],
  },
  taskQueue: {
    name: "relay_task_queue",
    pk: [
      ["ws", "STRING"],
      ["submitted_at", "INTEGER"],
      ["task", "STRING"],
    ],
  },
  taskEvents: {
    name: "relay_task_events",
    pk: [
      ["ws", "STRING"],
      ["task", "STRING"],
      ["event_id", "STRING"],
    ],
  },
  eventTime: {
    name: "relay_event_time",
    pk: [
      ["shard", "STRING"],
      ["created_at", "INTEGER"],
      ["id", "STRING"],
    ],
  },
  /** Every task by registration time: the newest-first list. */
  taskTime: {
    name: "relay_task_time",
    pk: [
      ["shard", "STRING"],
      ["registered_at", "INTEGER"],
      ["ws", "STRING"],
      ["task", "STRING"],
    ],
  },
  workspaces: { name: "relay_workspaces", pk: [["ws", "STRING"]] },
  webhooks: { name: "relay_webhooks", pk: [["id", "STRING"]] },
  settings: { name: "relay_settings", pk: [["key", "STRING"]] },
  events: { name: "relay_events", pk: [["id", "STRING"]] },
  deliveries: { name: "relay_deliveries", pk: [["id", "STRING"]] },
  deliveryDue: {
    name: "relay_delivery_due",
    pk: [
      ["shard", "STRING"],
      ["due_at", "INTEGER"],
      ["id", "STRING"],
    ],
  },
  deliveryByEvent: {
    name: "relay_delivery_by_event",
    pk: [
      ["event_id", "STRING"],
      ["id", "STRING"],
    ],
  },
  // Deliveries by creation time: all of them, a webhook's (this replaced relay_delivery_by_webhook,
  // keyed by id, which is no longer written or read), and the failing (dead, or retrying after a
  // failed attempt), entered when an attempt fails and left when one succeeds.
  deliveryTime: {
    name: "relay_delivery_time",
    pk: [
      ["shard", "STRING"],
      ["created_at", "INTEGER"],
      ["id", "STRING"],
    ],
  },
  deliveryByWebhook: {
    name: "relay_delivery_by_webhook_time",
    pk: [
      ["webhook_id", "STRING"],
      ["created_at", "INTEGER"],
      ["id", "STRING"],
    ],
  },
  deliveryFailing: {
    name: "relay_delivery_failing",
    pk: [
      ["shard", "STRING"],
      ["created_at", "INTEGER"],
      ["id", "STRING"],
    ],
  },
} as const;

/**
 * Index entries are written before their row, so a reader can meet an entry whose row is still
 * being created. Only an entry this much older than now, with no row, is a crashed creator's leftover.
 */
export const CREATE_GRACE_MS = 60_000;

/** Creates every table that is missing; safe to run again. Returns the names created. */
export async function createMissingTables(tablestore: TablestoreClient): Promise<string[]> {
  const client = tablestore.ots();
  const existing = new Set((await tablestore.retrying((c) => c.listTable())).tableNames);
  const created: string[] = [];
  for (const table of Object.values(TABLES)) {
    if (existing.has(table.name)) continue;
    try {
      // Reserved throughput 0/0, no expiry, one version: see wire/messages.ts.
      await client.createTable({ tableName: table.name, primaryKey: table.pk.map(([name, type]) => ({ name, type })) });
      created.push(table.name);
    } catch (error) {
      if (!(error instanceof TablestoreError && error.code === "OTSObjectAlreadyExist")) throw error;
    }
  }
  return created;
}
