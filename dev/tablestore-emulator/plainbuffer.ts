/**
 * Tablestore's PlainBuffer row format, written here (not borrowed from the SDK) so the emulator and
 * the SDK check each other: the tests run this codec against the SDK's own encoder and decoder.
 *
 * Layout: a little-endian int32 header 0x75, then rows. A row is TAG_ROW_PK and its cells, optionally
 * TAG_ROW_DATA and its cells, optionally TAG_DELETE_ROW_MARKER, then TAG_ROW_CHECKSUM and a CRC-8.
 * A cell is TAG_CELL, TAG_CELL_NAME (int32 length + bytes), optionally TAG_CELL_VALUE (int32 length,
 * a type byte, the payload), TAG_CELL_TYPE (an update operation), TAG_CELL_TIMESTAMP (int64), then
 * TAG_CELL_CHECKSUM and a CRC-8 over name, value, timestamp and operation in that order. The row's
 * CRC-8 runs over its cells' checksums and ends with 1 or 0 for the delete marker.
 */

const HEADER = 0x75;
const TAG = {
  ROW_PK: 0x1,
  ROW_DATA: 0x2,
  CELL: 0x3,
  CELL_NAME: 0x4,
  CELL_VALUE: 0x5,
  CELL_TYPE: 0x6,
  CELL_TIMESTAMP: 0x7,
  DELETE_ROW_MARKER: 0x8,
  ROW_CHECKSUM: 0x9,
  CELL_CHECKSUM: 0xa,
} as const;
const VT = {
  INTEGER: 0x0,
  DOUBLE: 0x1,
  BOOLEAN: 0x2,
  STRING: 0x3,
  NULL: 0x6,
  BLOB: 0x7,
  INF_MIN: 0x9,
  INF_MAX: 0xa,
  AUTO_INCREMENT: 0xb,
} as const;
const OP = { delete_all: 0x1, delete_one: 0x3, increment: 0x4 } as const;

export type Value =
  | { readonly type: "integer"; readonly value: bigint }
  | { readonly type: "double"; readonly value: number }
  | { readonly type: "boolean"; readonly value: boolean }
  | { readonly type: "string"; readonly value: string }
  | { readonly type: "blob"; readonly value: Buffer }
  | { readonly type: "inf_min" }
  | { readonly type: "inf_max" }
  | { readonly type: "auto_increment" };

export type CellOp = keyof typeof OP;

export interface Cell {
  readonly name: string;
  readonly value?: Value | undefined;
  readonly op?: CellOp | undefined;
  readonly timestamp?: bigint | undefined;
}

export interface Row {
  readonly primaryKey: readonly Cell[];
  readonly attributes: readonly Cell[];
  readonly deleteMarker?: boolean;
}

export class PlainBufferError extends Error {
  readonly retryable = false;
  constructor(message: string) {
    super(`PlainBuffer: ${message}`);
    this.name = "PlainBufferError";
  }
}

// CRC-8 with polynomial 0x07, the table Tablestore uses.
const CRC_TABLE = (() => {
  const table = new Uint8Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let b = 0; b < 8; b++) c = c & 0x80 ? ((c << 1) ^ 0x07) & 0xff : (c << 1) & 0xff;
    table[i] = c;
  }
  return table;
})();

function crcByte(crc: number, byte: number): number {
  return CRC_TABLE[(crc ^ byte) & 0xff] as number;
}

function crcBytes(crc: number, bytes: Uint8Array): number {
  let c = crc;
  for (const b of bytes) c = crcByte(c, b);
  return c;
}

function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32LE(n);
  return b;
}

function int64(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(n);
  return b;
}

/** The value's bytes after TAG_CELL_VALUE, and its contribution to the cell checksum. */
function encodeValue(value: Value, crc: number): { bytes: Buffer; crc: number } {
  let payload: Buffer;
  let type: number;
  switch (value.type) {
    case "integer":
      type = VT.INTEGER;
      payload = int64(value.value);
      break;
    case "double": {
      type = VT.DOUBLE;
      payload = Buffer.alloc(8);
      payload.writeDoubleLE(value.value);
      break;
    }
    case "boolean":
      type = VT.BOOLEAN;
      payload = Buffer.from([value.value ? 1 : 0]);
      break;
    case "string":
    case "blob": {
      type = value.type === "string" ? VT.STRING : VT.BLOB;
      const data = value.type === "string" ? Buffer.from(value.value, "utf8") : value.value;
      payload = Buffer.concat([int32(data.length), data]);
      break;
    }
    case "inf_min":
      type = VT.INF_MIN;
      payload = Buffer.alloc(0);
      break;
    case "inf_max":
      type = VT.INF_MAX;
      payload = Buffer.alloc(0);
      break;
    case "auto_increment":
      type = VT.AUTO_INCREMENT;
      payload = Buffer.alloc(0);
      break;
  }
  const bytes = Buffer.concat([int32(1 + payload.length), Buffer.from([type]), payload]);
  return { bytes, crc: crcBytes(crcByte(crc, type), payload) };
}

function encodeCell(cell: Cell): { bytes: Buffer; crc: number } {
  const name = Buffer.from(cell.name, "utf8");
  const parts: Buffer[] = [Buffer.from([TAG.CELL, TAG.CELL_NAME]), int32(name.length), name];
  let crc = crcBytes(0, name);
  if (cell.value) {
    const v = encodeValue(cell.value, crc);
    parts.push(Buffer.from([TAG.CELL_VALUE]), v.bytes);
    crc = v.crc;
  }
  if (cell.op) parts.push(Buffer.from([TAG.CELL_TYPE, OP[cell.op]]));
  if (cell.timestamp !== undefined) {
    const ts = int64(cell.timestamp);
    parts.push(Buffer.from([TAG.CELL_TIMESTAMP]), ts);
    crc = crcBytes(crc, ts);
  }
  if (cell.op) crc = crcByte(crc, OP[cell.op]);
  parts.push(Buffer.from([TAG.CELL_CHECKSUM, crc]));
  return { bytes: Buffer.concat(parts), crc };
}

function encodeRowBody(row: Row): Buffer {
  const parts: Buffer[] = [Buffer.from([TAG.ROW_PK])];
  let crc = 0;
  for (const cell of row.primaryKey) {
    const c = encodeCell(cell);
    parts.push(c.bytes);
    crc = crcByte(crc, c.crc);
  }
  if (row.attributes.length > 0) {
    parts.push(Buffer.from([TAG.ROW_DATA]));
    for (const cell of row.attributes) {
      const c = encodeCell(cell);
      parts.push(c.bytes);
      crc = crcByte(crc, c.crc);
    }
  }
  if (row.deleteMarker) parts.push(Buffer.from([TAG.DELETE_ROW_MARKER]));
  crc = crcByte(crc, row.deleteMarker ? 1 : 0);
  parts.push(Buffer.from([TAG.ROW_CHECKSUM, crc]));
  return Buffer.concat(parts);
}

export function encodeRows(rows: readonly Row[]): Buffer {
  return Buffer.concat([int32(HEADER), ...rows.map(encodeRowBody)]);
}

export function encodeRow(row: Row): Buffer {
  return encodeRows([row]);
}

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
