import { describe, expect, it } from "vitest";
import { Message, ProtobufError, readFields, Writer } from "../../../../../lib/store/tablestore/wire/protobuf.js";
import { Int64, TablestoreValueError, toValue } from "../../../../../lib/store/tablestore/wire/values.js";

describe("Tablestore values", () => {
  it("integers are marked Int64 (a number is a DOUBLE); fractions drop, NaN is refused", () => {
    expect(toValue(Int64.from(1.9))).toEqual({ type: "integer", value: 1n });
    expect(toValue(1.9)).toEqual({ type: "double", value: 1.9 });
    expect(() => Int64.from(Number.NaN)).toThrow(TablestoreValueError);
    expect(JSON.stringify({ n: new Int64(42n) })).toBe('{"n":42}');
    expect(() => toValue({} as never)).toThrow(TablestoreValueError);
  });
});

describe("protobuf", () => {
  it("reads back what it writes: varints of every size, negative int32, strings, nested messages", () => {
    const nested = new Writer().string(1, "inner ✓");
    const bytes = new Writer()
      .uint(1, 0)
      .uint(2, 300)
      .uint(3, 2 ** 40)
      .uint(4, -1)
      .bool(5, true)
      .message(6, nested)
      .finish();
    const m = new Message(bytes);
    expect([m.uint(1), m.uint(2), m.uint(3), m.bool(5), m.message(6)?.string(1)]).toEqual([
      0,
      300,
      2 ** 40,
      true,
      "inner ✓",
    ]);
    // A negative int32 is ten bytes, sign-extended, as protobuf specifies.
    expect(new Writer().uint(4, -1).finish()).toEqual(Buffer.from([0x20, ...Array(9).fill(0xff), 0x01]));
  });

  it("refuses truncated input instead of reading past it", () => {
    const bytes = new Writer().string(1, "hello").finish();
    expect(() => readFields(bytes.subarray(0, bytes.length - 1))).toThrow(ProtobufError);
    expect(() => readFields(Buffer.from([0x08, 0x80]))).toThrow(ProtobufError);
  });
});
