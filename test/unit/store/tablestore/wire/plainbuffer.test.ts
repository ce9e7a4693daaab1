import { createRequire } from "node:module";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type Cell,
  encodeRow,
  PlainBufferError,
  type Value,
} from "../../../../../lib/store/tablestore/wire/plainbuffer.js";
import { decodeRow } from "../../../../../lib/store/tablestore/wire/plainbuffer-decode.js";

// The oracle: the tablestore SDK's own PlainBuffer encoder and decoder.
const require = createRequire(import.meta.url);
// biome-ignore lint/suspicious/noExplicitAny: the SDK has no types; this test only feeds it plain values
const TableStore: any = require("tablestore");

const long = (n: bigint) => TableStore.Long.fromString(n.toString());
const sdkValue = (v: Value): unknown => {
  switch (v.type) {
    case "integer":
      return long(v.value);
    case "blob":
      return v.value;
    case "inf_min":
      return TableStore.INF_MIN;
    case "inf_max":
      return TableStore.INF_MAX;
    case "auto_increment":
      return TableStore.PK_AUTO_INCR;
    default:
      return v.value;
  }
};
const plain = (v: unknown): unknown => {
  // The SDK's 64-bit integers (Int64LE and kin) are objects with toBuffer/toString.
  if (
    v &&
    typeof v === "object" &&
    !Buffer.isBuffer(v) &&
    typeof (v as { toBuffer?: unknown }).toBuffer === "function"
  ) {
    return BigInt((v as { toString(): string }).toString());
  }
  return Buffer.isBuffer(v) ? v.toString("hex") : v;
};
const ours = (v: Value | undefined): unknown =>
  v === undefined ? undefined : v.type === "blob" ? v.value.toString("hex") : "value" in v ? v.value : v.type;

// Tablestore column names are [A-Za-z_][A-Za-z0-9_]* (the SDK also writes a name's length as its
// UTF-16 length, which is only right for such names).
const name = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,11}$/);
const int = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((value): Value => ({ type: "integer", value }));
const str = fc.string({ maxLength: 40, unit: "grapheme" }).map((value): Value => ({ type: "string", value }));
const blob = fc.uint8Array({ maxLength: 40 }).map((b): Value => ({ type: "blob", value: Buffer.from(b) }));
const dbl = fc.double({ noNaN: true }).map((value): Value => ({ type: "double", value }));
const bool = fc.boolean().map((value): Value => ({ type: "boolean", value }));
const pkCells = fc.uniqueArray(fc.record({ name, value: fc.oneof(int, str, blob) }), {
  minLength: 1,
  maxLength: 4,
  selector: (c) => c.name,
});
const attrCells = fc.uniqueArray(
  fc.record({
    name,
    value: fc.oneof(int, str, blob, dbl, bool),
    timestamp: fc.option(fc.bigInt({ min: 0n, max: 2n ** 52n }), { nil: undefined }),
  }),
  { maxLength: 6, selector: (c) => c.name },
);

describe("PlainBuffer codec against the tablestore SDK", () => {
  it("rows we encode are read back by the SDK, checksums included", () => {
    fc.assert(
      fc.property(pkCells, attrCells, (pk, attrs) => {
        const buf = encodeRow({ primaryKey: pk, attributes: attrs });
        // The SDK's input stream takes protobufjs's {buffer, offset, limit} view.
        const view = { buffer: buf, offset: 0, limit: buf.length };
        const stream = new TableStore.PlainBufferCodedInputStream(new TableStore.PlainBufferInputStream(view));
        const [row] = stream.readRows();
        expect(row.primaryKey.map((c: { name: string; value: unknown }) => [c.name, plain(c.value)])).toEqual(
          pk.map((c) => [c.name, ours(c.value)]),
        );
        expect(
          row.attributes.map((c: { columnName: string; columnValue: unknown; timestamp: unknown }) => [
            c.columnName,
            plain(c.columnValue),
            c.timestamp == null ? undefined : plain(c.timestamp),
          ]),
        ).toEqual(attrs.map((c) => [c.name, ours(c.value), c.timestamp]));
      }),
      { numRuns: 300 },
    );
  });

  it("rows the SDK encodes for PutRow are decoded here", () => {
    fc.assert(
      fc.property(pkCells, attrCells, (pk, attrs) => {
        const buf = TableStore.PlainBufferBuilder.serializeForPutRow(
          pk.map((c) => ({ [c.name]: sdkValue(c.value) })),
          attrs.map((c) => ({
            [c.name]: sdkValue(c.value),
            ...(c.timestamp === undefined ? {} : { timestamp: Number(c.timestamp) }),
          })),
        );
        const row = decodeRow(buf);
        expect(row.primaryKey.map((c) => [c.name, ours(c.value)])).toEqual(pk.map((c) => [c.name, ours(c.value)]));
        expect(row.attributes.map((c) => [c.name, ours(c.value), c.timestamp])).toEqual(
          attrs.map((c) => [c.name, ours(c.value), c.timestamp]),
        );
        expect(row.deleteMarker).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it("UpdateRow operations (PUT, DELETE one version, DELETE_ALL, INCREMENT) and DeleteRow's marker", () => {
    const buf = TableStore.PlainBufferBuilder.serializeForUpdateRow(
      [{ ws: "w" }, { id: long(7n) }],
      [
        { PUT: [{ status: "RUNNING" }, { polls: long(3n), timestamp: 1700000000000 }] },
        { DELETE: [{ old: 1699999999999 }] },
        { DELETE_ALL: ["lease"] },
        { INCREMENT: [{ count: long(1n) }] },
      ],
    );
    const row = decodeRow(buf);
    expect(row.primaryKey).toEqual([
      { name: "ws", value: { type: "string", value: "w" }, op: undefined, timestamp: undefined },
      { name: "id", value: { type: "integer", value: 7n }, op: undefined, timestamp: undefined },
    ]);
    expect(row.attributes.map((c) => [c.name, c.op, ours(c.value), c.timestamp])).toEqual([
      ["status", undefined, "RUNNING", undefined],
      ["polls", undefined, 3n, 1700000000000n],
      ["old", "delete_one", undefined, 1699999999999n],
      ["lease", "delete_all", undefined, undefined],
      ["count", "increment", 1n, undefined],
    ]);
    const del = decodeRow(TableStore.PlainBufferBuilder.serializeForDeleteRow([{ ws: "w" }]));
    expect(del.deleteMarker).toBe(true);
    // …and the same bytes come out of our encoder.
    expect(encodeRow(del)).toEqual(Buffer.from(TableStore.PlainBufferBuilder.serializeForDeleteRow([{ ws: "w" }])));
    const range = TableStore.PlainBufferBuilder.serializePrimaryKey([
      { a: TableStore.INF_MIN },
      { b: TableStore.INF_MAX },
    ]);
    expect(decodeRow(range).primaryKey.map((c: Cell) => c.value?.type)).toEqual(["inf_min", "inf_max"]);
  });

  it("tolerates the SDK's zero padding after a row, nothing else", () => {
    const row = encodeRow({ primaryKey: [{ name: "pk", value: { type: "string", value: "a" } }], attributes: [] });
    expect(decodeRow(Buffer.concat([row, Buffer.alloc(5)])).primaryKey).toHaveLength(1);
    expect(() => decodeRow(Buffer.concat([row, Buffer.from([0, 1])]))).toThrow(/bytes after the row/);
  });

  it("any single corrupted byte is refused", () => {
    const buf = encodeRow({
      primaryKey: [{ name: "pk", value: { type: "string", value: "abc" } }],
      attributes: [{ name: "n", value: { type: "integer", value: 42n } }],
    });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: buf.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, xor) => {
        const bad = Buffer.from(buf);
        bad[at] = (bad[at] as number) ^ xor;
        expect(() => decodeRow(bad)).toThrow(PlainBufferError);
      }),
    );
  });
});
