/** The SQL the SQLite store runs: due-work queries pinned to their indexes, and whole-row writes. */
import type { Column } from "../columns.js";
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

/** The WHERE of the partial index deliveries_due, word for word: the pending. */
export const PENDING_DELIVERY = "status = 'pending'";
/** The WHERE of the partial index deliveries_failing, word for word (store.ts's isFailing). */
export const FAILING_DELIVERY = `(status = 'dead' OR (status = 'pending' AND attempts > 0
    AND (last_status_code IS NULL OR last_status_code NOT BETWEEN 200 AND 299)))`;
/** The WHERE of the partial index tasks_due, word for word: the active. */
export const ACTIVE_TASK = "state = 'active'";

const names = (cols: readonly Column[]) => cols.map((c) => c.name);
export const marks = (n: number) => Array.from({ length: n }, () => "?").join(", ");

/** INSERT of every declared column; values come from codecs.values. */
function insertRow(table: string, cols: readonly Column[]): string {
  return `INSERT INTO ${table} (${names(cols).join(", ")}) VALUES (${marks(cols.length)})`;
}

export const SQL = {
  taskByKey: "SELECT * FROM tasks WHERE workspace_id = ? AND task_id = ?",
  workspaceById: "SELECT * FROM workspaces WHERE workspace_id = ?",
  allWorkspaces: "SELECT * FROM workspaces ORDER BY workspace_id",
  webhookById: "SELECT * FROM webhooks WHERE id = ?",
  allWebhooks: "SELECT * FROM webhooks ORDER BY created_at_ms, id",
  eventById: "SELECT * FROM events WHERE id = ?",
  eventsOfTask: "SELECT * FROM events WHERE workspace_id = ? AND task_id = ? ORDER BY created_at_ms, id",
  eventsInOrder: `SELECT * FROM events WHERE created_at_ms >= ? AND (created_at_ms, id) > (?, ?)
    ORDER BY created_at_ms, id LIMIT ?`,
  deliveryById: "SELECT * FROM deliveries WHERE id = ?",
  settingByKey: "SELECT value FROM settings WHERE key = ?",
  settingsInRange: "SELECT key, value FROM settings WHERE key >= ? AND key < ? ORDER BY key LIMIT ?",
  // The metrics' backlog: the pending are counted (a bounded walk of their partial index).
  pendingCount: `SELECT COUNT(*) AS n FROM (SELECT 1 FROM deliveries INDEXED BY deliveries_due
    WHERE status = 'pending' LIMIT ?)`,
  oldestPending: `SELECT MIN(next_attempt_at_ms) AS at FROM deliveries INDEXED BY deliveries_due
    WHERE status = 'pending' AND next_attempt_at_ms <= ?`,
  /** Old events none of whose deliveries is pending: what retention may delete. */
  purgeableEvents: `SELECT id FROM events e INDEXED BY events_by_time WHERE created_at_ms < ?
    AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.status = 'pending')
    ORDER BY created_at_ms, id LIMIT ?`,
  deliveriesOfEvent: "DELETE FROM deliveries WHERE event_id = ?",
  deleteEvent: "DELETE FROM events WHERE id = ?",
  eventIdsOfTask: "SELECT id FROM events WHERE workspace_id = ? AND task_id = ?",
  deleteTask: "DELETE FROM tasks WHERE workspace_id = ? AND task_id = ?",
  insertWebhook: insertRow("webhooks", WEBHOOK),
  // Every column set from the row (the key to itself), so cleared fields are cleared.
  updateWebhook: `UPDATE webhooks SET (${names(WEBHOOK).join(", ")}) = (${marks(names(WEBHOOK).length)}) WHERE id = ?`,
  upsertWorkspace: `${insertRow("workspaces", WORKSPACE)} ON CONFLICT (workspace_id) DO UPDATE SET ${names(WORKSPACE)
    .filter((n) => n !== "workspace_id")
    .map((n) => `${n} = excluded.${n}`)
    .join(", ")}`,
} as const;

/** The writes of the due-work cycle (claims, results, new rows). */
export const WRITE_SQL = {
  insertTask: `INSERT INTO tasks (workspace_id, task_id, state, submitted_at_ms, registered_at_ms, next_poll_at_ms,
    webhook_urls, metadata, profile, video_duration_ms, running_since_ms)
    VALUES (?, ?, 'active', ?, ?, ?, ?, ?, ?, ?, ?)`,
  pollSooner: `UPDATE tasks SET next_poll_at_ms = ?
    WHERE workspace_id = ? AND task_id = ? AND state = 'active' AND next_poll_at_ms = ? AND lease_until_ms <= ?`,
  finishPoll: `UPDATE tasks SET status = COALESCE(?, status), state = COALESCE(?, state), next_poll_at_ms = ?,
    poll_count = ?, polls_in_status = ?, last_polled_at_ms = COALESCE(?, last_polled_at_ms),
    last_error = ?, terminal_at_ms = COALESCE(?, terminal_at_ms),
    running_since_ms = COALESCE(?, running_since_ms), progress_parts = COALESCE(?, progress_parts),
    lease_owner = NULL, lease_until_ms = 0
    WHERE workspace_id = ? AND task_id = ? AND lease_owner = ?`,
  releaseTask: `UPDATE tasks SET next_poll_at_ms = ?, lease_owner = NULL, lease_until_ms = 0
    WHERE workspace_id = ? AND task_id = ? AND lease_owner = ?`,
  insertEvent: `INSERT INTO events (id, type, workspace_id, task_id, body, created_at_ms) VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (id) DO NOTHING`,
  insertDelivery: `INSERT INTO deliveries (id, event_id, webhook_id, url, status, next_attempt_at_ms, created_at_ms, event_type,
    lease_owner, lease_until_ms)
    VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
  finishAttempt: `UPDATE deliveries SET status = ?, attempts = ?, next_attempt_at_ms = ?, last_attempt_at_ms = ?,
    last_status_code = ?, last_error = ?, last_response = ?, delivered_at_ms = COALESCE(?, delivered_at_ms),
    attempt_log = COALESCE(?, attempt_log),
    lease_owner = NULL, lease_until_ms = 0
    WHERE id = ? AND lease_owner = ?`,
  releaseDelivery: `UPDATE deliveries SET next_attempt_at_ms = ?, lease_owner = NULL, lease_until_ms = 0
    WHERE id = ? AND lease_owner = ? AND status = 'pending'`,
  replayDelivery: `UPDATE deliveries SET status = 'pending', next_attempt_at_ms = ?, lease_owner = NULL, lease_until_ms = 0
    WHERE id = ? RETURNING *`,
} as const;
