/**
 * Rows as Tablestore holds them: each record's columns declared once (integers as Int64, other
 * numbers as doubles, JSON as text, booleans native), primary keys, and the key builders of every
 * table and index.
 */

import { type Column, type Columns, columns, decode, encode, snakeCase } from "../columns.js";
import { DELIVERY_FIELDS, EVENT_FIELDS, TASK_FIELDS, WEBHOOK_FIELDS, WORKSPACE_FIELDS } from "../records.js";
import type { EventRow } from "../store.js";
import { type AttributeValue, Int64, type Pk, type RowResult } from "./wire/values.js";

/** A row's columns by name, primary key columns included. */
export type Attrs = Record<string, AttributeValue>;

export const long = (n: number) => Int64.from(n);
export const numOf = (v: unknown): number | undefined =>
  v instanceof Int64 ? v.toNumber() : typeof v === "number" ? v : undefined;
export const strOf = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

export function attrsOf(row: RowResult | undefined): Attrs | undefined {
  if (!row?.primaryKey) return undefined;
  const out: Attrs = {};
  for (const a of row.attributes ?? []) out[a.columnName] = a.columnValue;
  for (const p of row.primaryKey) out[p.name] = p.value as AttributeValue;
  return out;
}

function readColumn(a: Attrs) {
  return (c: Column): unknown => {
    const v = a[c.name];
    if (v === undefined || v === null) return undefined;
    if (c.kind === "int" || c.kind === "num") return numOf(v);
    if (c.kind === "bool") return v === true;
    if (c.kind === "json") return JSON.parse(String(v));
    return String(v);
  };
}

/** Rows written before a column existed: a count or time of zero, a flag that is off. */
const fallback = (c: Column): unknown => (c.kind === "int" ? 0 : c.kind === "bool" ? false : undefined);

// A `num` stays a JS number, which the wire writes as a DOUBLE: Int64 would drop its fraction.
const writeColumn = (v: unknown, c: Column): unknown =>
  c.kind === "int" ? long(v as number) : c.kind === "json" ? JSON.stringify(v) : v;

export const read = <T>(cols: Columns<T>, a: Attrs): T => decode(cols, readColumn(a), fallback);

/** A whole row's attribute columns (its key columns left out), for PutRow. */
export function attributesOf<T>(cols: Columns<T>, value: T, key: ReadonlyArray<keyof T>): Array<[string, unknown]> {
  const keyColumns = new Set(cols.filter((c) => key.includes(c.field as keyof T)).map((c) => c.name));
  return encode(cols, value, writeColumn).filter(([name]) => !keyColumns.has(name));
}

/**
 * Column names: the field's, snake_case, without the `_ms` of times (`next_poll_at`), and the short
 * key names the tables were created with (`ws`, `task`).
 */
const named =
  (renames: Readonly<Record<string, string>> = {}) =>
  (field: string) =>
    renames[field] ?? snakeCase(field).replace(/_ms$/, "");

const KEYS = { workspaceId: "ws", taskId: "task" };

export const TASK = columns(TASK_FIELDS, named(KEYS));
export const WORKSPACE = columns(WORKSPACE_FIELDS, named(KEYS));
export const WEBHOOK = columns(WEBHOOK_FIELDS, named());
/** The body is stored in chunks (a column holds at most 2 MB): see events.ts. */
export const EVENT = columns(EVENT_FIELDS, named(KEYS)).filter((c) => c.field !== "body") as Columns<
  Omit<EventRow, "body">
>;
export const DELIVERY = columns(DELIVERY_FIELDS, named());

/** The event-time index has one partition (see shards.ts for the due indexes, which have several). */
export const SHARD = "0";

export const keys = {
  task: (ws: string, task: string): Pk => [{ ws }, { task }],
  taskDue: (shard: string, due: number, ws: string, task: string): Pk => [
    { shard },
    { due_at: long(due) },
    { ws },
    { task },
  ],
  taskQueue: (ws: string, at: number, task: string): Pk => [{ ws }, { submitted_at: long(at) }, { task }],
  deliveryDue: (shard: string, due: number, id: string): Pk => [{ shard }, { due_at: long(due) }, { id }],
  eventTime: (at: number, id: string): Pk => [{ shard: SHARD }, { created_at: long(at) }, { id }],
  taskTime: (at: number, ws: string, task: string): Pk => [
    { shard: SHARD },
    { registered_at: long(at) },
    { ws },
    { task },
  ],
  deliveryTime: (at: number, id: string): Pk => [{ shard: SHARD }, { created_at: long(at) }, { id }],
  deliveryFailing: (at: number, id: string): Pk => [{ shard: SHARD }, { created_at: long(at) }, { id }],
  deliveryByWebhook: (webhookId: string, at: number, id: string): Pk => [
    { webhook_id: webhookId },
    { created_at: long(at) },
    { id },
  ],
};
