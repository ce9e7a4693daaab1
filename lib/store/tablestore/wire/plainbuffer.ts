/**
 * Tablestore's PlainBuffer row format, the encoding side (plainbuffer-decode.ts reads it). Written
 * here, not borrowed from the SDK: the relay's own client and the emulator share it, and the tests
 * run it against the SDK's own encoder and decoder.
 *
 * Layout: a little-endian int32 header 0x75, then rows. A row is TAG_ROW_PK and its cells, optionally
 * TAG_ROW_DATA and its cells, optionally TAG_DELETE_ROW_MARKER, then TAG_ROW_CHECKSUM and a CRC-8.
 * A cell is TAG_CELL, TAG_CELL_NAME (int32 length + bytes), optionally TAG_CELL_VALUE (int32 length,
 * a type byte, the payload), TAG_CELL_TYPE (an update operation), TAG_CELL_TIMESTAMP (int64), then
 * TAG_CELL_CHECKSUM and a CRC-8 over name, value, timestamp and operation in that order. The row's
 * CRC-8 runs over its cells' checksums and ends with 1 or 0 for the delete marker.
 */

import { RelayError } from "../../../errors.js";

export const HEADER = 0x75;
export const TAG = {
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
export const VT = {
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
export const OP = { delete_all: 0x1, delete_one: 0x3, increment: 0x4 } as const;

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

/** Bytes that are not PlainBuffer, or fail their checksums. */
export class PlainBufferError extends RelayError {
  readonly retryable = false;
  constructor(message: string) {
    super(`PlainBuffer: ${message}`);
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

export function crcByte(crc: number, byte: number): number {
  return CRC_TABLE[(crc ^ byte) & 0xff] as number;
}

export function crcBytes(crc: number, bytes: Uint8Array): number {
  let c = crc;
  for (const b of bytes) c = crcByte(c, b);
  return c;
}

export function int32(n: number): Buffer {
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

/** A bare value (type byte + payload, no cell framing), as column conditions carry it. */
export function encodeVariant(value: Value): Buffer {
  const { bytes } = encodeValue(value, 0);
  return bytes.subarray(4); // without the int32 length that frames a cell's value
}
