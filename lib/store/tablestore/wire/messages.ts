/**
 * The requests the relay sends and the answers it reads, by their field numbers in Tablestore's
 * table_store.proto and table_store_filter.proto (API version 2015-12-31). Rows inside are PlainBuffer.
 */
import { type Cell, encodeRow, encodeVariant } from "./plainbuffer.js";
import { decodeRows } from "./plainbuffer-decode.js";
import { type Message, Writer } from "./protobuf.js";
import { type AttributeValue, cellsOf, type Pk, type RowResult, rowResult, toValue } from "./values.js";

export const IGNORE = 0;
export const EXPECT_EXIST = 1;
export const EXPECT_NOT_EXIST = 2;
export type RowExistence = typeof IGNORE | typeof EXPECT_EXIST | typeof EXPECT_NOT_EXIST;

export const COMPARATORS = { EQUAL: 1, NOT_EQUAL: 2, GREATER_THAN: 3, GREATER_EQUAL: 4, LESS_THAN: 5, LESS_EQUAL: 6 };
export type Comparator = keyof typeof COMPARATORS;
const LOGICAL = { NOT: 1, AND: 2, OR: 3 };

export type ColumnCondition =
  | {
      readonly kind: "single";
      readonly column: string;
      readonly comparator: Comparator;
      readonly value: AttributeValue;
      /** The row passes when it lacks the column (the SDK's default, and the relay's). */
      readonly passIfMissing: boolean;
    }
  | { readonly kind: "composite"; readonly operator: keyof typeof LOGICAL; readonly conditions: ColumnCondition[] };

export interface Condition {
  readonly existence: RowExistence;
  readonly column?: ColumnCondition | undefined;
}

/** Column changes of an UpdateRow: values to put, columns to clear. */
export type UpdateColumns = Array<{
  PUT?: Array<Record<string, AttributeValue>>;
  DELETE_ALL?: string[];
}>;

export type RowChange =
  | {
      readonly type: "PUT";
      readonly condition: Condition;
      readonly primaryKey: Pk;
      readonly attributeColumns: Array<Record<string, AttributeValue>>;
    }
  | {
      readonly type: "UPDATE";
      readonly condition: Condition;
      readonly primaryKey: Pk;
      readonly updateOfAttributeColumns: UpdateColumns;
    }
  | { readonly type: "DELETE"; readonly condition: Condition; readonly primaryKey: Pk };

const OPERATION = { PUT: 1, UPDATE: 2, DELETE: 3 };

// Filter { type = 1; filter = 2 }, FilterType SINGLE = 1, COMPOSITE = 2.
function filter(c: ColumnCondition): Writer {
  if (c.kind === "single") {
    const single = new Writer()
      .uint(1, COMPARATORS[c.comparator])
      .string(2, c.column)
      .bytes(3, encodeVariant(toValue(c.value)))
      .bool(4, !c.passIfMissing)
      .bool(5, true); // latest version only: the relay keeps one version
    return new Writer().uint(1, 1).message(2, single);
  }
  const composite = new Writer().uint(1, LOGICAL[c.operator]);
  for (const sub of c.conditions) composite.message(2, filter(sub));
  return new Writer().uint(1, 2).message(2, composite);
}

// Condition { row_existence = 1; column_condition = 2 (a serialized Filter) }
function condition(c: Condition): Writer {
  const w = new Writer().uint(1, c.existence);
  if (c.column) w.bytes(2, filter(c.column).finish());
  return w;
}

const keyRow = (pk: Pk, deleteMarker = false) => encodeRow({ primaryKey: cellsOf(pk), attributes: [], deleteMarker });

function updateCells(changes: UpdateColumns): Cell[] {
  const cells: Cell[] = [];
  for (const change of changes) {
    if (change.PUT) cells.push(...cellsOf(change.PUT));
    for (const name of change.DELETE_ALL ?? []) cells.push({ name, op: "delete_all" });
  }
  return cells;
}

function rowChange(r: RowChange): Buffer {
  if (r.type === "DELETE") return keyRow(r.primaryKey, true);
  const attributes = r.type === "PUT" ? cellsOf(r.attributeColumns) : updateCells(r.updateOfAttributeColumns);
  return encodeRow({ primaryKey: cellsOf(r.primaryKey), attributes });
}

function columnsAndVersions(w: Writer, columnsField: number, versionsField: number, columns?: string[]): Writer {
  for (const c of columns ?? []) w.string(columnsField, c);
  return w.uint(versionsField, 1);
}

export const encode = {
  getRow(p: { tableName: string; primaryKey: Pk; columnsToGet?: string[] | undefined }): Buffer {
    const w = new Writer().string(1, p.tableName).bytes(2, keyRow(p.primaryKey));
    return columnsAndVersions(w, 3, 5, p.columnsToGet).finish();
  },

  // PutRowRequest, UpdateRowRequest and DeleteRowRequest share their layout: table 1, row 2, condition 3.
  write(tableName: string, r: RowChange): Buffer {
    return new Writer().string(1, tableName).bytes(2, rowChange(r)).message(3, condition(r.condition)).finish();
  },

  getRange(p: { tableName: string; start: Pk; end: Pk; limit: number; backward?: boolean }): Buffer {
    return new Writer()
      .string(1, p.tableName)
      .uint(2, p.backward ? 1 : 0) // Direction: FORWARD 0, BACKWARD 1 (start the larger key)
      .uint(5, 1)
      .uint(6, p.limit)
      .bytes(7, keyRow(p.start))
      .bytes(8, keyRow(p.end))
      .finish();
  },

  batchGetRow(tables: Array<{ tableName: string; primaryKeys: Pk[] }>): Buffer {
    const w = new Writer();
    for (const t of tables) {
      const table = new Writer().string(1, t.tableName);
      for (const pk of t.primaryKeys) table.bytes(2, keyRow(pk));
      w.message(1, table.uint(6, 1));
    }
    return w.finish();
  },

  batchWriteRow(tables: Array<{ tableName: string; rows: RowChange[] }>): Buffer {
    const w = new Writer();
    for (const t of tables) {
      const table = new Writer().string(1, t.tableName);
      for (const r of t.rows) {
        table.message(
          2,
          new Writer().uint(1, OPERATION[r.type]).bytes(2, rowChange(r)).message(3, condition(r.condition)),
        );
      }
      w.message(1, table);
    }
    return w.finish();
  },

  createTable(p: { tableName: string; primaryKey: Array<{ name: string; type: "STRING" | "INTEGER" | "BINARY" }> }) {
    const PK_TYPES = { INTEGER: 1, STRING: 2, BINARY: 3 };
    const meta = new Writer().string(1, p.tableName);
    for (const k of p.primaryKey) meta.message(2, new Writer().string(1, k.name).uint(2, PK_TYPES[k.type]));
    const throughput = new Writer().message(1, new Writer().uint(1, 0).uint(2, 0));
    // time_to_live -1 (keep forever), max_versions 1
    const options = new Writer().uint(1, -1).uint(2, 1);
    return new Writer().message(1, meta).message(2, throughput).message(3, options).finish();
  },
};

export interface RowOutcome extends RowResult {
  isOk: boolean;
  errorCode?: string | undefined;
  errorMessage?: string | undefined;
}

function oneRow(bytes: Buffer | undefined): RowResult {
  return rowResult(bytes && bytes.length > 0 ? decodeRows(bytes)[0] : undefined);
}

// Error { code = 1; message = 2 }
export function errorOf(m: Message | undefined): { code?: string | undefined; message?: string | undefined } {
  return m ? { code: m.string(1), message: m.string(2) } : {};
}

export const decode = {
  // GetRowResponse { consumed = 1; row = 2 }
  getRow: (m: Message): { row: RowResult } => ({ row: oneRow(m.bytes(2)) }),

  // GetRangeResponse { consumed = 1; rows = 2; next_start_primary_key = 3 }
  getRange(m: Message): { rows: RowResult[]; nextStartPrimaryKey: Pk | null } {
    const rows = m.bytes(2);
    const next = m.bytes(3);
    const nextRow = next && next.length > 0 ? rowResult(decodeRows(next)[0]) : undefined;
    return {
      rows: rows && rows.length > 0 ? decodeRows(rows).map(rowResult) : [],
      nextStartPrimaryKey: nextRow?.primaryKey ? nextRow.primaryKey.map((c) => ({ [c.name]: c.value })) : null,
    };
  },

  // BatchGetRowResponse { tables = 1 { table_name = 1; rows = 2 { is_ok = 1; error = 2; row = 4 } } }
  batchGetRow: (m: Message): RowOutcome[][] =>
    m.messages(1).map((t) =>
      t.messages(2).map((r) => {
        const e = errorOf(r.message(2));
        return { ...oneRow(r.bytes(4)), isOk: r.bool(1) === true, errorCode: e.code, errorMessage: e.message };
      }),
    ),

  // BatchWriteRowResponse: the rows of every table, in the order sent, as one list.
  batchWriteRow: (m: Message): RowOutcome[] =>
    m.messages(1).flatMap((t) =>
      t.messages(2).map((r) => {
        const e = errorOf(r.message(2));
        return { isOk: r.bool(1) === true, errorCode: e.code, errorMessage: e.message };
      }),
    ),

  // ListTableResponse { table_names = 1 }
  listTable: (m: Message): string[] => m.strings(1),
};
