import { createRequire } from "node:module";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  all,
  atMost,
  changes,
  condition,
  EXPECT_EXIST,
  eq,
  IGNORE,
} from "../../../../../lib/store/tablestore/client.js";
import { encode, type RowChange } from "../../../../../lib/store/tablestore/wire/messages.js";
import { decodeRow, decodeVariant } from "../../../../../lib/store/tablestore/wire/plainbuffer-decode.js";
import {
  type AttributeValue,
  INF_MAX,
  INF_MIN,
  Int64,
  type Pk,
} from "../../../../../lib/store/tablestore/wire/values.js";

// The oracle: the tablestore SDK's own request encoder and its compiled protobuf definitions.
const require = createRequire(import.meta.url);
// biome-ignore lint/suspicious/noExplicitAny: the SDK has no types; this test only feeds it plain values
const TableStore: any = require("tablestore");
const proto = require("tablestore/lib/protocol/tablestore_compiled_proto.js") as {
  main: { proto: Record<string, unknown> };
  filter: { proto: Record<string, { decode(b: Uint8Array): Record<string, unknown> }> };
};

/** What the SDK sends for `operation(params)`, as bytes. */
function sdkBytes(operation: string, request: string, params: unknown): Uint8Array {
  const message = TableStore.encoder.encode(operation, params);
  return (proto.main.proto[request] as { encode(m: unknown): { finish(): Uint8Array } }).encode(message).finish();
}

const ROW_FIELDS = new Set(["primaryKey", "row", "rowChange", "inclusiveStartPrimaryKey", "exclusiveEndPrimaryKey"]);

function filterOf(bytes: Uint8Array): unknown {
  const f = proto.filter.proto.Filter?.decode(bytes) as { type: number; filter: Uint8Array };
  if (f.type === 1) {
    const s = proto.filter.proto.SingleColumnValueFilter?.decode(f.filter) as Record<string, unknown>;
    return { ...s, columnValue: decodeVariant(s.columnValue as Uint8Array) };
  }
  const c = proto.filter.proto.CompositeColumnValueFilter?.decode(f.filter) as {
    combinator: number;
    subFilters: Array<{ type: number; filter: Uint8Array }>;
  };
  const sub = proto.filter.proto.Filter as unknown as { encode(m: unknown): { finish(): Uint8Array } };
  return { combinator: c.combinator, subFilters: c.subFilters.map((s) => filterOf(sub.encode(s).finish())) };
}

/**
 * A request decoded by the SDK's definitions, rows decoded as PlainBuffer (the SDK pads some with
 * zeros) and column conditions as filters: two encodings of the same request compare equal.
 */
function read(request: string, bytes: Uint8Array): unknown {
  const walk = (v: unknown, key = ""): unknown => {
    if (v instanceof Uint8Array) {
      if (ROW_FIELDS.has(key)) return decodeRow(v);
      if (key === "columnCondition") return filterOf(v);
      return Buffer.from(v).toString("hex");
    }
    if (Array.isArray(v)) return v.map((x) => walk(x, key));
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, k)]));
    return v;
  };
  const type = proto.main.proto[request] as unknown as {
    decode(b: Uint8Array): unknown;
    toObject(m: unknown, o: object): unknown;
  };
  return walk(type.toObject(type.decode(bytes), { longs: String }));
}

// Ours as the SDK spells it.
const sdk = (v: unknown): unknown =>
  v instanceof Int64
    ? TableStore.Long.fromString(v.toString())
    : v === INF_MIN
      ? TableStore.INF_MIN
      : v === INF_MAX
        ? TableStore.INF_MAX
        : v;
const sdkColumns = (cols: Array<Record<string, unknown>>) =>
  cols.map((c) => Object.fromEntries(Object.entries(c).map(([k, v]) => [k, sdk(v)])));

const name = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,11}$/);
const pkValue = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((b) => new Int64(b)),
);
const attrValue: fc.Arbitrary<AttributeValue> = fc.oneof(
  pkValue,
  fc.boolean(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);
const pk = fc
  .uniqueArray(fc.tuple(name, pkValue), { minLength: 1, maxLength: 4, selector: (c) => c[0] })
  .map((cols): Pk => cols.map(([n, v]) => ({ [n]: v })));
const attrs = fc
  .uniqueArray(fc.tuple(name, attrValue), { maxLength: 6, selector: (c) => c[0] })
  .map((cols) => cols.map(([n, v]) => ({ [n]: v })));

function sdkCondition(c: ReturnType<typeof condition>): unknown {
  const column = (x: NonNullable<typeof c.column>): unknown => {
    if (x.kind === "single") {
      return new TableStore.SingleColumnCondition(
        x.column,
        sdk(x.value),
        TableStore.ComparatorType[x.comparator],
        x.passIfMissing,
        true,
      );
    }
    const composite = new TableStore.CompositeCondition(TableStore.LogicalOperator[x.operator]);
    for (const sub of x.conditions) composite.addSubCondition(column(sub));
    return composite;
  };
  return new TableStore.Condition(c.existence, c.column ? column(c.column) : null);
}

describe("Tablestore requests, against the SDK's own encoder", () => {
  it("PutRow: any key and columns, with a composite column condition", () => {
    fc.assert(
      fc.property(pk, attrs, fc.string(), fc.integer(), (key, columns, state, due) => {
        const cond = condition(EXPECT_EXIST, all(eq("state", state), atMost("due_at", Int64.from(due))));
        const ours = encode.write("t", { type: "PUT", condition: cond, primaryKey: key, attributeColumns: columns });
        const theirs = sdkBytes("putRow", "PutRowRequest", {
          tableName: "t",
          condition: sdkCondition(cond),
          primaryKey: sdkColumns(key),
          attributeColumns: sdkColumns(columns),
        });
        expect(read("PutRowRequest", ours)).toEqual(read("PutRowRequest", theirs));
      }),
      { numRuns: 200 },
    );
  });

  it("UpdateRow (PUT and DELETE_ALL) and DeleteRow", () => {
    fc.assert(
      fc.property(pk, attrs, fc.uniqueArray(name, { maxLength: 3 }), (key, columns, cleared) => {
        const update = [
          ...(columns.length ? [{ PUT: columns }] : []),
          ...(cleared.length ? [{ DELETE_ALL: cleared }] : []),
        ];
        if (update.length === 0) return;
        const cond = condition(IGNORE, eq("lease_owner", "run-1"));
        const ours = encode.write("t", {
          type: "UPDATE",
          condition: cond,
          primaryKey: key,
          updateOfAttributeColumns: update,
        });
        const theirs = sdkBytes("updateRow", "UpdateRowRequest", {
          tableName: "t",
          condition: sdkCondition(cond),
          primaryKey: sdkColumns(key),
          updateOfAttributeColumns: update.map((u) => ("PUT" in u ? { PUT: sdkColumns(u.PUT ?? []) } : u)),
        });
        expect(read("UpdateRowRequest", ours)).toEqual(read("UpdateRowRequest", theirs));
        const del = encode.write("t", { type: "DELETE", condition: condition(EXPECT_EXIST), primaryKey: key });
        const sdkDel = sdkBytes("deleteRow", "DeleteRowRequest", {
          tableName: "t",
          condition: sdkCondition(condition(EXPECT_EXIST)),
          primaryKey: sdkColumns(key),
        });
        expect(read("DeleteRowRequest", del)).toEqual(read("DeleteRowRequest", sdkDel));
      }),
      { numRuns: 200 },
    );
    // changes() is how the store spells an update: values put, undefined cleared.
    expect(changes({ a: "x", b: undefined })).toEqual([{ PUT: [{ a: "x" }] }, { DELETE_ALL: ["b"] }]);
  });

  it("GetRow, GetRange (with the ends of a range) and BatchGetRow", () => {
    const key: Pk = [{ ws: "w" }, { task: "t" }];
    expect(read("GetRowRequest", encode.getRow({ tableName: "t", primaryKey: key, columnsToGet: ["a", "b"] }))).toEqual(
      read(
        "GetRowRequest",
        sdkBytes("getRow", "GetRowRequest", {
          tableName: "t",
          primaryKey: key,
          maxVersions: 1,
          columnsToGet: ["a", "b"],
        }),
      ),
    );
    const start: Pk = [{ shard: "3" }, { due_at: INF_MIN }, { id: INF_MIN }];
    const end: Pk = [{ shard: "3" }, { due_at: Int64.from(1_700_000_000_000) }, { id: INF_MAX }];
    expect(read("GetRangeRequest", encode.getRange({ tableName: "t", start, end, limit: 100 }))).toEqual(
      read(
        "GetRangeRequest",
        sdkBytes("getRange", "GetRangeRequest", {
          tableName: "t",
          direction: TableStore.Direction.FORWARD,
          inclusiveStartPrimaryKey: sdkColumns(start),
          exclusiveEndPrimaryKey: sdkColumns(end),
          limit: 100,
          maxVersions: 1,
        }),
      ),
    );
    const keys: Pk[] = [key, [{ ws: "w" }, { task: "u" }]];
    expect(read("BatchGetRowRequest", encode.batchGetRow([{ tableName: "t", primaryKeys: keys }]))).toEqual(
      read(
        "BatchGetRowRequest",
        sdkBytes("batchGetRow", "BatchGetRowRequest", {
          tables: [{ tableName: "t", primaryKey: keys, maxVersions: 1 }],
        }),
      ),
    );
  });

  it("BatchWriteRow across tables, every row type", () => {
    const rows: RowChange[] = [
      { type: "PUT", condition: condition(IGNORE), primaryKey: [{ id: "a" }], attributeColumns: [{ _: true }] },
      {
        type: "UPDATE",
        condition: condition(EXPECT_EXIST, eq("n", Int64.from(3))),
        primaryKey: [{ id: "b" }],
        updateOfAttributeColumns: [{ PUT: [{ n: Int64.from(4) }] }, { DELETE_ALL: ["old"] }],
      },
      { type: "DELETE", condition: condition(IGNORE), primaryKey: [{ id: "c" }] },
    ];
    const sdkRows = rows.map((r) => ({
      type: r.type,
      condition: sdkCondition(r.condition),
      primaryKey: sdkColumns(r.primaryKey),
      ...(r.type === "PUT" ? { attributeColumns: sdkColumns(r.attributeColumns) } : {}),
      ...(r.type === "UPDATE"
        ? {
            attributeColumns: r.updateOfAttributeColumns.map((u) => (u.PUT ? { PUT: sdkColumns(u.PUT) } : u)),
          }
        : {}),
    }));
    const tables = [
      { tableName: "one", rows },
      { tableName: "two", rows: rows.slice(0, 1) },
    ];
    expect(read("BatchWriteRowRequest", encode.batchWriteRow(tables))).toEqual(
      read(
        "BatchWriteRowRequest",
        sdkBytes("batchWriteRow", "BatchWriteRowRequest", {
          tables: [
            { tableName: "one", rows: sdkRows },
            { tableName: "two", rows: sdkRows.slice(0, 1) },
          ],
        }),
      ),
    );
  });

  it("CreateTable: the key schema, no reserved throughput, no expiry, one version", () => {
    const primaryKey = [
      { name: "shard", type: "STRING" as const },
      { name: "due_at", type: "INTEGER" as const },
    ];
    expect(read("CreateTableRequest", encode.createTable({ tableName: "t", primaryKey }))).toEqual(
      read(
        "CreateTableRequest",
        sdkBytes("createTable", "CreateTableRequest", {
          tableMeta: { tableName: "t", primaryKey },
          reservedThroughput: { capacityUnit: { read: 0, write: 0 } },
          tableOptions: { timeToLive: -1, maxVersions: 1 },
        }),
      ),
    );
  });
});
