/** Deleting on SQLite: retention's purge and erasing a task, each in one IMMEDIATE transaction. */
import type Database from "better-sqlite3";
import { SQL } from "./queries.js";

type Prepare = (sql: string) => Database.Statement;

/** Deletes events with every delivery of theirs; returns how many deliveries went. */
function deleteEvents(stmt: Prepare, ids: readonly string[]): number {
  let deliveries = 0;
  for (const id of ids) {
    deliveries += stmt(SQL.deliveriesOfEvent).run(id).changes;
    stmt(SQL.deleteEvent).run(id);
  }
  return deliveries;
}

export function purgeBefore(
  db: Database.Database,
  stmt: Prepare,
  beforeMs: number,
  limit: number,
): { events: number; deliveries: number } {
  const run = db.transaction(() => {
    const ids = (stmt(SQL.purgeableEvents).all(beforeMs, limit) as Array<{ id: string }>).map((r) => r.id);
    return { events: ids.length, deliveries: deleteEvents(stmt, ids) };
  });
  return run.immediate();
}

export function eraseTask(db: Database.Database, stmt: Prepare, workspaceId: string, taskId: string): boolean {
  const run = db.transaction(() => {
    const ids = (stmt(SQL.eventIdsOfTask).all(workspaceId, taskId) as Array<{ id: string }>).map((r) => r.id);
    deleteEvents(stmt, ids);
    return stmt(SQL.deleteTask).run(workspaceId, taskId).changes === 1;
  });
  return run.immediate();
}
