/** Tablestore's PlainBuffer row format, the decoding side (the layout is described in plainbuffer.ts). */
import {
  type Cell,
  type CellOp,
  crcByte,
  crcBytes,
  HEADER,
  int32,
  OP,
  PlainBufferError,
  type Row,
  TAG,
  type Value,
  VT,
} from "./plainbuffer.js";

class Reader {
  private offset = 0;
  constructor(private readonly buf: Buffer) {}
  get atEnd(): boolean {
    return this.offset >= this.buf.length;
  }
  private need(n: number): void {
    if (this.offset + n > this.buf.length) throw new PlainBufferError(`truncated at byte ${this.offset}`);
  }
  peek(): number | undefined {
    return this.buf[this.offset];
  }
  byte(): number {
    this.need(1);
    return this.buf[this.offset++] as number;
  }
  int32(): number {
    this.need(4);
    const v = this.buf.readInt32LE(this.offset);
    this.offset += 4;
    return v;
  }
  bytes(n: number): Buffer {
    if (n < 0) throw new PlainBufferError(`negative length at byte ${this.offset}`);
    this.need(n);
    const v = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return v;
  }
  expect(tag: number, what: string): void {
    const got = this.byte();
    if (got !== tag) throw new PlainBufferError(`expected ${what} (tag ${tag}) at byte ${this.offset - 1}, got ${got}`);
  }
}

function decodeValue(r: Reader, crc: number): { value: Value; crc: number } {
  const length = r.int32();
  const body = new Reader(r.bytes(length));
  const type = body.byte();
  let c = crcByte(crc, type);
  let value: Value;
  switch (type) {
    case VT.INTEGER: {
      const b = body.bytes(8);
      value = { type: "integer", value: b.readBigInt64LE() };
      c = crcBytes(c, b);
      break;
    }
    case VT.DOUBLE: {
      const b = body.bytes(8);
      value = { type: "double", value: b.readDoubleLE() };
      c = crcBytes(c, b);
      break;
    }
    case VT.BOOLEAN: {
      const b = body.byte();
      value = { type: "boolean", value: b !== 0 };
      c = crcByte(c, b);
      break;
    }
    case VT.STRING:
    case VT.BLOB: {
      const size = body.int32();
      const data = body.bytes(size);
      c = crcBytes(crcBytes(c, int32(size)), data);
      value =
        type === VT.STRING
          ? { type: "string", value: data.toString("utf8") }
          : { type: "blob", value: Buffer.from(data) };
      break;
    }
    case VT.INF_MIN:
      value = { type: "inf_min" };
      break;
    case VT.INF_MAX:
      value = { type: "inf_max" };
      break;
    case VT.AUTO_INCREMENT:
      value = { type: "auto_increment" };
      break;
    default:
      throw new PlainBufferError(`unknown value type ${type}`);
  }
  if (!body.atEnd) throw new PlainBufferError("a value is longer than its type");
  return { value, crc: c };
}

function decodeCell(r: Reader): { cell: Cell; crc: number } {
  r.expect(TAG.CELL, "TAG_CELL");
  r.expect(TAG.CELL_NAME, "TAG_CELL_NAME");
  const name = r.bytes(r.int32());
  let crc = crcBytes(0, name);
  let value: Value | undefined;
  let op: CellOp | undefined;
  let timestamp: bigint | undefined;
  if (r.peek() === TAG.CELL_VALUE) {
    r.byte();
    const v = decodeValue(r, crc);
    value = v.value;
    crc = v.crc;
  }
  if (r.peek() === TAG.CELL_TYPE) {
    r.byte();
    const code = r.byte();
    op = (Object.keys(OP) as CellOp[]).find((k) => OP[k] === code);
    if (!op) throw new PlainBufferError(`unknown cell operation ${code}`);
  }
  if (r.peek() === TAG.CELL_TIMESTAMP) {
    r.byte();
    const ts = r.bytes(8);
    timestamp = ts.readBigInt64LE();
    crc = crcBytes(crc, ts);
  }
  if (op) crc = crcByte(crc, OP[op]);
  r.expect(TAG.CELL_CHECKSUM, "TAG_CELL_CHECKSUM");
  const sum = r.byte();
  if (sum !== crc) throw new PlainBufferError(`cell "${name.toString("utf8")}" checksum ${sum} is not ${crc}`);
  return { cell: { name: name.toString("utf8"), value, op, timestamp }, crc };
}

function decodeRowBody(r: Reader): Row {
  const primaryKey: Cell[] = [];
  const attributes: Cell[] = [];
  let crc = 0;
  r.expect(TAG.ROW_PK, "TAG_ROW_PK");
  while (r.peek() === TAG.CELL) {
    const c = decodeCell(r);
    primaryKey.push(c.cell);
    crc = crcByte(crc, c.crc);
  }
  if (r.peek() === TAG.ROW_DATA) {
    r.byte();
    while (r.peek() === TAG.CELL) {
      const c = decodeCell(r);
      attributes.push(c.cell);
      crc = crcByte(crc, c.crc);
    }
  }
  let deleteMarker = false;
  if (r.peek() === TAG.DELETE_ROW_MARKER) {
    r.byte();
    deleteMarker = true;
  }
  crc = crcByte(crc, deleteMarker ? 1 : 0);
  r.expect(TAG.ROW_CHECKSUM, "TAG_ROW_CHECKSUM");
  const sum = r.byte();
  if (sum !== crc) throw new PlainBufferError(`row checksum ${sum} is not ${crc}`);
  return { primaryKey, attributes, deleteMarker };
}

export function decodeRows(buf: Uint8Array): Row[] {
  const r = new Reader(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength));
  if (r.int32() !== HEADER) throw new PlainBufferError("bad header");
  const rows: Row[] = [];
  while (!r.atEnd) rows.push(decodeRowBody(r));
  return rows;
}

/**
 * One row, as requests carry it. The SDK sizes its buffer by an estimate and can leave zero bytes
 * after the row (UpdateRow does), which the service accepts; anything else after the row is refused.
 */
export function decodeRow(buf: Uint8Array): Row {
  const r = new Reader(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength));
  if (r.int32() !== HEADER) throw new PlainBufferError("bad header");
  const row = decodeRowBody(r);
  while (!r.atEnd) if (r.byte() !== 0) throw new PlainBufferError("bytes after the row");
  return row;
}

/** A bare value (type byte + payload, no cell framing), as column conditions carry it. */
export function decodeVariant(buf: Uint8Array): Value {
  const r = new Reader(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength));
  const type = r.byte();
  switch (type) {
    case VT.INTEGER:
      return { type: "integer", value: r.bytes(8).readBigInt64LE() };
    case VT.DOUBLE:
      return { type: "double", value: r.bytes(8).readDoubleLE() };
    case VT.BOOLEAN:
      return { type: "boolean", value: r.byte() !== 0 };
    case VT.STRING:
      return { type: "string", value: r.bytes(r.int32()).toString("utf8") };
    case VT.BLOB:
      return { type: "blob", value: Buffer.from(r.bytes(r.int32())) };
    default:
      throw new PlainBufferError(`unsupported condition value type ${type}`);
  }
}
