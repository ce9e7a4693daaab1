/**
 * The values and rows the store hands the client, in the shapes the store was written against
 * (`[{column: value}]` keys, `{primaryKey, attributes}` results), and their PlainBuffer cells.
 */
import { RelayError } from "../../../errors.js";
import type { Cell, Row, Value } from "./plainbuffer.js";

/**
 * A Tablestore INTEGER. A class, not a bare bigint: a JS number is a DOUBLE column, so integers
 * must be marked, and rows pass through JSON (logs, cursors), which a bigint would make throw.
 */
export class Int64 {
  constructor(readonly value: bigint) {}

  /** The fraction of a non-integer is dropped (as the SDK's Long.fromNumber does); NaN is refused. */
  static from(n: number): Int64 {
    if (!Number.isFinite(n)) throw new TablestoreValueError(`${n} is not an integer Tablestore can hold`);
    return new Int64(BigInt(Math.trunc(n)));
  }

  toNumber(): number {
    return Number(this.value);
  }

  toString(): string {
    return this.value.toString();
  }

  toJSON(): number {
    return this.toNumber();
  }
}

/** The ends of a key column's range, for GetRange. */
export const INF_MIN: unique symbol = Symbol("INF_MIN");
export const INF_MAX: unique symbol = Symbol("INF_MAX");

export type PkValue = string | Int64 | Uint8Array | typeof INF_MIN | typeof INF_MAX;
/** A primary key in column order, one `{column: value}` object per column. */
export type Pk = Array<Record<string, PkValue>>;
export type AttributeValue = string | number | boolean | Uint8Array | Int64;

export interface RowResult {
  primaryKey?: Array<{ name: string; value: PkValue }>;
  attributes?: Array<{ columnName: string; columnValue: AttributeValue }>;
}

/** A value the relay cannot write or read: a bug to fix, not a moment to wait out. */
export class TablestoreValueError extends RelayError {
  readonly retryable = false;
}

export function toValue(v: PkValue | AttributeValue): Value {
  if (typeof v === "string") return { type: "string", value: v };
  if (typeof v === "boolean") return { type: "boolean", value: v };
  if (typeof v === "number") return { type: "double", value: v };
  if (v instanceof Int64) return { type: "integer", value: v.value };
  if (v === INF_MIN) return { type: "inf_min" };
  if (v === INF_MAX) return { type: "inf_max" };
  if (v instanceof Uint8Array) return { type: "blob", value: Buffer.from(v.buffer, v.byteOffset, v.byteLength) };
  throw new TablestoreValueError(`cannot write ${typeof v} to Tablestore`);
}

export function fromValue(v: Value): AttributeValue | PkValue {
  switch (v.type) {
    case "integer":
      return new Int64(v.value);
    case "inf_min":
      return INF_MIN;
    case "inf_max":
      return INF_MAX;
    case "auto_increment":
      throw new TablestoreValueError("auto-increment keys are not used by the relay");
    default:
      return v.value;
  }
}

/** `[{a: 1}, {b: 2}]` → cells, in order. */
export function cellsOf(columns: ReadonlyArray<Record<string, PkValue | AttributeValue>>): Cell[] {
  const cells: Cell[] = [];
  for (const column of columns) {
    for (const name in column) cells.push({ name, value: toValue(column[name] as PkValue | AttributeValue) });
  }
  return cells;
}

/** A decoded row in the result shape; undefined for an empty answer (no such row). */
export function rowResult(row: Row | undefined): RowResult {
  if (!row) return {};
  return {
    primaryKey: row.primaryKey.map((c) => ({ name: c.name, value: fromValue(requireValue(c)) as PkValue })),
    attributes: row.attributes.map((c) => ({
      columnName: c.name,
      columnValue: fromValue(requireValue(c)) as AttributeValue,
    })),
  };
}

function requireValue(c: Cell): Value {
  if (!c.value) throw new TablestoreValueError(`column ${c.name} came back without a value`);
  return c.value;
}
