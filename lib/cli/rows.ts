/** The CLI's tables of tasks, deliveries and events: the newest first, as the lists return them. */
import type { DeliveryRow, EventRow, TaskRow } from "../store/store.js";
import { table, when } from "./table.js";

const cut = (text: string, width: number) => (text.length > width ? `${text.slice(0, width - 1)}…` : text);

export function taskRows(tasks: readonly TaskRow[]): string {
  return table(
    ["REGISTERED", "WORKSPACE", "TASK", "STATE", "STATUS", "POLLS", "NEXT POLL", "LAST ERROR"],
    tasks.map((t) => [
      when(t.registeredAtMs),
      t.workspaceId,
      t.taskId,
      t.state,
      t.status ?? "-",
      String(t.pollCount),
      t.state === "active" ? when(t.nextPollAtMs) : "-",
      (t.lastError ?? "").slice(0, 60),
    ]),
  );
}

export function deliveryRows(rows: readonly DeliveryRow[]): string {
  return table(
    ["TIME", "EVENT TYPE", "ENDPOINT", "STATUS", "ATTEMPTS", "LAST", "ID", "ERROR"],
    rows.map((d) => [
      when(d.createdAtMs),
      d.eventType ?? "-",
      cut(d.url, 60),
      d.status,
      String(d.attempts),
      d.lastStatusCode === undefined ? "-" : String(d.lastStatusCode),
      d.id,
      (d.lastError ?? "").slice(0, 40),
    ]),
  );
}

export function eventRows(rows: readonly EventRow[]): string {
  return table(
    ["TIME", "TYPE", "WORKSPACE", "TASK", "ID"],
    rows.map((e) => [when(e.createdAtMs), e.type, e.workspaceId, e.taskId, e.id]),
  );
}
