/** The SQL the SQLite store runs: due-work queries pinned to their indexes, and whole-row writes. */
import type { Column, Columns } from "../columns.js";
import { WEBHOOK, WORKSPACE } from "./codecs.js";

/**
 * The queries that find due work. INDEXED BY pins each to its partial index: without statistics
 * the planner may prefer another index and scan every active row; with it, SQLite refuses to run
 * rather than scan.
 */
export const DUE_WORK_SQL = {
  dueTasks: `SELECT workspace_id, task_id FROM tasks INDEXED BY tasks_due
    WHERE state = 'active' AND next_poll_at_ms <= ? AND lease_until_ms <= ?
    ORDER BY next_poll_at_ms LIMIT ?`,
  dueDeliveries: `SELECT id FROM deliveries INDEXED BY deliveries_due
    WHERE status = 'pending' AND next_attempt_at_ms <= ? AND lease_until_ms <= ?`,
  dueDeliveryPage: `SELECT id, next_attempt_at_ms FROM deliveries INDEXED BY deliveries_due
    WHERE status = 'pending' AND next_attempt_at_ms <= ? AND lease_until_ms <= ?
      AND (next_attempt_at_ms > ? OR (next_attempt_at_ms = ? AND id > ?))
    ORDER BY next_attempt_at_ms, id LIMIT ?`,
  queueHead: `SELECT * FROM tasks INDEXED BY tasks_queue WHERE state = 'active' AND workspace_id = ?
    ORDER BY submitted_at_ms, task_id LIMIT ?`,
  queuedAhead: `SELECT task_id FROM tasks INDEXED BY tasks_queue
    WHERE state = 'active' AND workspace_id = ? AND submitted_at_ms <= ? LIMIT ?`,
} as const;

const names = <T>(columns: Columns<T>) => (Object.values(columns) as Column[]).map((c) => c.name);
const marks = (n: number) => Array.from({ length: n }, () => "?").join(", ");

/** INSERT of every declared column; values come from codecs.values. */
function insertRow<T>(table: string, columns: Columns<T>): string {
  const cols = names(columns);
  return `INSERT INTO ${table} (${cols.join(", ")}) VALUES (${marks(cols.length)})`;
}

export const SQL = {
  taskByKey: "SELECT * FROM tasks WHERE workspace_id = ? AND task_id = ?",
  workspaceById: "SELECT * FROM workspaces WHERE workspace_id = ?",
  allWorkspaces: "SELECT * FROM workspaces ORDER BY workspace_id",
  webhookById: "SELECT * FROM webhooks WHERE id = ?",
  allWebhooks: "SELECT * FROM webhooks ORDER BY created_at_ms, id",
  eventById: "SELECT * FROM events WHERE id = ?",
  eventsOfTask: "SELECT * FROM events WHERE workspace_id = ? AND task_id = ? ORDER BY created_at_ms, id",
  deliveryById: "SELECT * FROM deliveries WHERE id = ?",
  settingByKey: "SELECT value FROM settings WHERE key = ?",
  insertWebhook: insertRow("webhooks", WEBHOOK),
  // Every column set from the row (the key to itself), so cleared fields are cleared.
  updateWebhook: `UPDATE webhooks SET (${names(WEBHOOK).join(", ")}) = (${marks(names(WEBHOOK).length)}) WHERE id = ?`,
  upsertWorkspace: `${insertRow("workspaces", WORKSPACE)} ON CONFLICT (workspace_id) DO UPDATE SET ${names(WORKSPACE)
    .filter((n) => n !== "workspace_id")
    .map((n) => `${n} = excluded.${n}`)
    .join(", ")}`,
} as const;
