/** Rows as SQLite holds them: columns named after their fields (snake_case), JSON as text, booleans as 0/1. */
import { type Column, type Columns, columns, decode, encode, snakeCase } from "../columns.js";
import { DELIVERY_FIELDS, EVENT_FIELDS, TASK_FIELDS, WEBHOOK_FIELDS, WORKSPACE_FIELDS } from "../records.js";
import type { NewDelivery } from "../store.js";

export type Row = Record<string, unknown>;

function readColumn(r: Row) {
  return (c: Column): unknown => {
    const v = r[c.name];
    if (v === null || v === undefined) return undefined;
    if (c.kind === "int" || c.kind === "num") return Number(v);
    if (c.kind === "bool") return Number(v) === 1;
    if (c.kind === "json") return JSON.parse(String(v));
    return String(v);
  };
}

const writeColumn = (v: unknown, c: Column): unknown =>
  c.kind === "json" ? JSON.stringify(v) : c.kind === "bool" ? (v ? 1 : 0) : v;

/** A whole row's values in declaration order, NULL for absent optional fields. */
export const values = <T>(cols: Columns<T>, value: T): unknown[] =>
  encode(cols, value, writeColumn).map(([, v]) => v ?? null);

export const TASK = columns(TASK_FIELDS, snakeCase);
export const WORKSPACE = columns(WORKSPACE_FIELDS, snakeCase);
export const WEBHOOK = columns(WEBHOOK_FIELDS, snakeCase);
export const EVENT = columns(EVENT_FIELDS, snakeCase);
export const DELIVERY = columns(DELIVERY_FIELDS, snakeCase);

/** A new delivery's values, in the order of WRITE_SQL.insertDelivery's placeholders. */
export const newDeliveryValues = (d: NewDelivery): unknown[] => [
  d.id,
  d.eventId,
  d.webhookId,
  d.url,
  d.nextAttemptAtMs,
  d.createdAtMs,
  d.eventType ?? null,
  d.leaseOwner ?? null,
  d.leaseUntilMs ?? 0,
];

export const toTask = (r: Row) => decode(TASK, readColumn(r));
export const toWorkspace = (r: Row) => decode(WORKSPACE, readColumn(r));
export const toWebhook = (r: Row) => decode(WEBHOOK, readColumn(r));
export const toEvent = (r: Row) => decode(EVENT, readColumn(r));
export const toDelivery = (r: Row) => decode(DELIVERY, readColumn(r));
