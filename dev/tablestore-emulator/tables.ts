/**
 * The emulator's tables: rows ordered by primary key, one version per column, and the service's
 * rules for conditions, updates and ranges. Pure and synchronous: the server turns protocol messages
 * into these calls and errors into protocol errors.
 */
import type { Cell, Row, Value } from "../../lib/store/tablestore/wire/plainbuffer.js";

/** A string or binary primary key column holds at most 1 KB. */
const MAX_PK_BYTES = 1024;

export class OtsError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "OtsError";
  }
}

export const conditionFailed = () => new OtsError(403, "OTSConditionCheckFail", "Condition check failed.");
export const invalid = (message: string) => new OtsError(400, "OTSParameterInvalid", message);
const tableMissing = () => new OtsError(404, "OTSObjectNotExist", "Requested table does not exist.");

export type PkType = "INTEGER" | "STRING" | "BINARY";

export interface TableSchema {
  readonly name: string;
  readonly primaryKey: ReadonlyArray<{ readonly name: string; readonly type: PkType }>;
  readonly timeToLive: number;
  readonly maxVersions: number;
}

interface StoredColumn {
  readonly value: Value;
  readonly timestamp: bigint;
}

interface StoredRow {
  readonly pk: readonly Value[];
  readonly columns: Map<string, StoredColumn>;
}

export type Comparator = "EQUAL" | "NOT_EQUAL" | "GREATER_THAN" | "GREATER_EQUAL" | "LESS_THAN" | "LESS_EQUAL";

export type ColumnCondition =
  | {
      readonly kind: "single";
      readonly column: string;
      readonly comparator: Comparator;
      readonly value: Value;
      readonly passIfMissing: boolean;
    }
  | {
      readonly kind: "composite";
      readonly operator: "NOT" | "AND" | "OR";
      readonly conditions: readonly ColumnCondition[];
    };

export interface WriteCondition {
  readonly rowExistence: "IGNORE" | "EXPECT_EXIST" | "EXPECT_NOT_EXIST";
  readonly column?: ColumnCondition | undefined;
}

const TYPE_RANK: Record<Value["type"], number> = {
  inf_min: 0,
  integer: 1,
  string: 2,
  blob: 3,
  double: 4,
  boolean: 5,
  auto_increment: 6,
  inf_max: 7,
};

/** Orders two values the way Tablestore orders primary keys (strings and binaries byte-wise). */
export function compareValues(a: Value, b: Value): number {
  if (a.type !== b.type) return TYPE_RANK[a.type] - TYPE_RANK[b.type];
  switch (a.type) {
    case "integer":
      return a.value < (b as typeof a).value ? -1 : a.value > (b as typeof a).value ? 1 : 0;
    case "double":
      return a.value - (b as typeof a).value;
    case "boolean":
      return Number(a.value) - Number((b as typeof a).value);
    case "string":
      return Buffer.compare(Buffer.from(a.value), Buffer.from((b as typeof a).value));
    case "blob":
      return Buffer.compare(a.value, (b as typeof a).value);
    default:
      return 0;
  }
}

function comparePks(a: readonly Value[], b: readonly Value[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (!x || !y) return (x ? 1 : 0) - (y ? 1 : 0);
    const c = compareValues(x, y);
    if (c !== 0) return c;
  }
  return 0;
}

function valueSize(v: Value): number {
  switch (v.type) {
    case "string":
      return Buffer.byteLength(v.value);
    case "blob":
      return v.value.length;
    case "boolean":
      return 1;
    default:
      return 8;
  }
}

export interface ReadOptions {
  readonly columnsToGet?: readonly string[] | undefined;
}

export class Table {
  /** Rows in primary-key order. */
  private rows: StoredRow[] = [];
  /**
   * Row operations by partition (the first key column's value, as Tablestore partitions): what a
   * benchmark reads to see whether one partition takes most of the load.
   */
  readonly partitionOps = new Map<string, number>();

  private touch(pk: readonly Value[]): void {
    const first = pk[0];
    const key = first === undefined || !("value" in first) ? "" : String(first.value);
    this.partitionOps.set(key, (this.partitionOps.get(key) ?? 0) + 1);
  }

  constructor(readonly schema: TableSchema) {}

  get size(): number {
    return this.rows.length;
  }

  /** Checks a row's primary key against the schema; returns it in schema order. */
  primaryKey(cells: readonly Cell[], options: { allowInfinite?: boolean } = {}): Value[] {
    const schema = this.schema.primaryKey;
    if (cells.length !== schema.length) {
      throw invalid(`Validate PK size fail. Input: ${cells.length}, Meta: ${schema.length}.`);
    }
    return schema.map((column, i) => {
      const cell = cells[i] as Cell;
      if (cell.name !== column.name) throw invalid(`Validate PK name fail. Input: ${cell.name}, Meta: ${column.name}.`);
      const value = cell.value;
      if (!value) throw invalid(`The primary key column ${cell.name} has no value.`);
      if (options.allowInfinite && (value.type === "inf_min" || value.type === "inf_max")) return value;
      const expected = { INTEGER: "integer", STRING: "string", BINARY: "blob" }[column.type];
      if (value.type !== expected) throw invalid(`Validate PK type fail. Input: ${value.type}, Meta: ${column.type}.`);
      const size =
        value.type === "string" ? Buffer.byteLength(value.value) : value.type === "blob" ? value.value.length : 0;
      // The service's limit on a string or binary key column (its "general limits" page).
      if (size > MAX_PK_BYTES)
        throw invalid(`The primary key column ${cell.name} is ${size} bytes long; the limit is ${MAX_PK_BYTES}.`);
      return value;
    });
  }

  private find(pk: readonly Value[]): { index: number; found: boolean } {
    let lo = 0;
    let hi = this.rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const c = comparePks((this.rows[mid] as StoredRow).pk, pk);
      if (c < 0) lo = mid + 1;
      else hi = mid;
    }
    const row = this.rows[lo];
    return { index: lo, found: row !== undefined && comparePks(row.pk, pk) === 0 };
  }

  get(pk: readonly Value[]): StoredRow | undefined {
    this.touch(pk);
    return this.peek(pk);
  }

  private peek(pk: readonly Value[]): StoredRow | undefined {
    const { index, found } = this.find(pk);
    return found ? this.rows[index] : undefined;
  }

  private check(row: StoredRow | undefined, condition: WriteCondition): void {
    if (condition.rowExistence === "EXPECT_EXIST" && !row) throw conditionFailed();
    if (condition.rowExistence === "EXPECT_NOT_EXIST" && row) throw conditionFailed();
    if (condition.column && !evaluate(condition.column, row)) throw conditionFailed();
  }

  put(pk: readonly Value[], attributes: readonly Cell[], condition: WriteCondition, nowMs: number): void {
    this.touch(pk);
    this.check(this.peek(pk), condition);
    const columns = new Map<string, StoredColumn>();
    for (const cell of attributes) {
      if (!cell.value) throw invalid(`The column ${cell.name} has no value.`);
      columns.set(cell.name, { value: cell.value, timestamp: cell.timestamp ?? BigInt(nowMs) });
    }
    this.store({ pk, columns });
  }

  /** Returns the columns INCREMENT changed, for ReturnType RT_AFTER_MODIFY. */
  update(pk: readonly Value[], changes: readonly Cell[], condition: WriteCondition, nowMs: number): Cell[] {
    this.touch(pk);
    const current = this.peek(pk);
    this.check(current, condition);
    const columns = new Map(current?.columns ?? []);
    const incremented: Cell[] = [];
    for (const cell of changes) {
      if (cell.op === "delete_all") columns.delete(cell.name);
      else if (cell.op === "delete_one") {
        if (columns.get(cell.name)?.timestamp === cell.timestamp) columns.delete(cell.name);
      } else if (cell.op === "increment") {
        if (cell.value?.type !== "integer") throw invalid(`INCREMENT needs an integer for ${cell.name}.`);
        const before = columns.get(cell.name)?.value;
        if (before && before.type !== "integer") throw invalid(`The column ${cell.name} is not an integer.`);
        const value: Value = { type: "integer", value: (before?.value ?? 0n) + cell.value.value };
        columns.set(cell.name, { value, timestamp: BigInt(nowMs) });
        incremented.push({ name: cell.name, value, timestamp: BigInt(nowMs) });
      } else {
        if (!cell.value) throw invalid(`The column ${cell.name} has no value.`);
        columns.set(cell.name, { value: cell.value, timestamp: cell.timestamp ?? BigInt(nowMs) });
      }
    }
    this.store({ pk, columns });
    return incremented;
  }

  delete(pk: readonly Value[], condition: WriteCondition): void {
    this.touch(pk);
    const { index, found } = this.find(pk);
    this.check(found ? this.rows[index] : undefined, condition);
    if (found) this.rows.splice(index, 1);
  }

  private store(row: StoredRow): void {
    const { index, found } = this.find(row.pk);
    if (found) this.rows[index] = row;
    else this.rows.splice(index, 0, row);
  }

  /** Rows from `start` (inclusive) towards `end` (exclusive), and where the next page starts. */
  range(
    start: readonly Value[],
    end: readonly Value[],
    backward: boolean,
    limit: number,
    maxBytes: number,
  ): { rows: StoredRow[]; next: readonly Value[] | undefined } {
    // As the service: a range that ends where it starts, or before, is a bad request, not an empty answer.
    const order = comparePks(start, end);
    if (backward ? order <= 0 : order >= 0)
      throw new RangeError(
        backward ? "Begin key must more than end key in BACKWARD" : "Begin key must less than end key in FORWARD",
      );
    this.touch(start);
    const rows: StoredRow[] = [];
    let bytes = 0;
    const inRange = (pk: readonly Value[]) =>
      backward
        ? comparePks(pk, start) <= 0 && comparePks(pk, end) > 0
        : comparePks(pk, start) >= 0 && comparePks(pk, end) < 0;
    let i = backward ? this.lastAtOrBefore(start) : this.find(start).index;
    const step = backward ? -1 : 1;
    for (; i >= 0 && i < this.rows.length; i += step) {
      const row = this.rows[i] as StoredRow;
      if (!inRange(row.pk)) break;
      const size = rowSize(row);
      if (rows.length >= limit || (rows.length > 0 && bytes + size > maxBytes)) return { rows, next: row.pk };
      rows.push(row);
      bytes += size;
    }
    return { rows, next: undefined };
  }

  private lastAtOrBefore(pk: readonly Value[]): number {
    const { index, found } = this.find(pk);
    return found ? index : index - 1;
  }
}

function rowSize(row: StoredRow): number {
  let size = 0;
  for (const v of row.pk) size += valueSize(v);
  for (const [name, c] of row.columns) size += Buffer.byteLength(name) + valueSize(c.value);
  return size;
}

function compareForCondition(actual: Value, comparator: Comparator, expected: Value): boolean {
  // Values of different types never match, as the service treats them.
  if (actual.type !== expected.type) return comparator === "NOT_EQUAL";
  const c = compareValues(actual, expected);
  switch (comparator) {
    case "EQUAL":
      return c === 0;
    case "NOT_EQUAL":
      return c !== 0;
    case "GREATER_THAN":
      return c > 0;
    case "GREATER_EQUAL":
      return c >= 0;
    case "LESS_THAN":
      return c < 0;
    case "LESS_EQUAL":
      return c <= 0;
  }
}

export function evaluate(condition: ColumnCondition, row: StoredRow | undefined): boolean {
  if (condition.kind === "composite") {
    if (condition.operator === "NOT") return !evaluate(condition.conditions[0] as ColumnCondition, row);
    if (condition.operator === "AND") return condition.conditions.every((c) => evaluate(c, row));
    return condition.conditions.some((c) => evaluate(c, row));
  }
  const column = row?.columns.get(condition.column);
  if (!column) return condition.passIfMissing;
  return compareForCondition(column.value, condition.comparator, condition.value);
}

/** A stored row as PlainBuffer cells, with only the asked-for columns. */
export function toRow(table: TableSchema, row: StoredRow, options: ReadOptions = {}): Row {
  const wanted = options.columnsToGet && options.columnsToGet.length > 0 ? new Set(options.columnsToGet) : undefined;
  const attributes: Cell[] = [];
  for (const [name, c] of [...row.columns].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!wanted || wanted.has(name)) attributes.push({ name, value: c.value, timestamp: c.timestamp });
  }
  return {
    primaryKey: table.primaryKey.map((col, i) => ({ name: col.name, value: row.pk[i] as Value })),
    attributes,
  };
}

export class Instance {
  private readonly tables = new Map<string, Table>();

  create(schema: TableSchema): void {
    if (this.tables.has(schema.name)) {
      throw new OtsError(409, "OTSObjectAlreadyExist", `Requested table already exists.`);
    }
    if (schema.primaryKey.length < 1 || schema.primaryKey.length > 4) {
      throw invalid("The number of primary key columns must be in range: [1, 4].");
    }
    this.tables.set(schema.name, new Table(schema));
  }

  table(name: string): Table {
    const table = this.tables.get(name);
    if (!table) throw tableMissing();
    return table;
  }

  delete(name: string): void {
    if (!this.tables.delete(name)) throw tableMissing();
  }

  names(): string[] {
    return [...this.tables.keys()].sort();
  }
}
