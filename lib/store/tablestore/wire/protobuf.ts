/**
 * Just enough protocol buffers for Tablestore's messages: varints (enums, bools, int32), strings,
 * bytes and nested messages. The relay sends and reads a dozen messages; a generated library for
 * all of Tablestore's (the SDK's) was most of its cold start.
 */
import { RelayError } from "../../../errors.js";

const VARINT = 0;
const I64 = 1;
const LEN = 2;
const I32 = 5;

/** Bytes that are not the message expected: a corrupt answer, not a moment to wait out. */
export class ProtobufError extends RelayError {
  readonly retryable = false;
  constructor(message: string) {
    super(`protobuf: ${message}`);
  }
}

/** A message under construction: fields are appended in the order written. */
export class Writer {
  private readonly parts: Uint8Array[] = [];
  private scratch: number[] = [];

  private flush(): void {
    if (this.scratch.length > 0) {
      this.parts.push(Uint8Array.from(this.scratch));
      this.scratch = [];
    }
  }

  private varint(n: number): void {
    // Negative int32s are sign-extended to ten bytes, as protobuf specifies.
    if (n < 0) {
      let v = BigInt.asUintN(64, BigInt(n));
      while (v >= 0x80n) {
        this.scratch.push(Number(v & 0x7fn) | 0x80);
        v >>= 7n;
      }
      this.scratch.push(Number(v));
      return;
    }
    let v = n;
    while (v >= 0x80) {
      this.scratch.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.scratch.push(v);
  }

  private key(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  uint(field: number, n: number): this {
    this.key(field, VARINT);
    this.varint(n);
    return this;
  }

  bool(field: number, b: boolean): this {
    return this.uint(field, b ? 1 : 0);
  }

  bytes(field: number, b: Uint8Array): this {
    this.key(field, LEN);
    this.varint(b.length);
    this.flush();
    this.parts.push(b);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, Buffer.from(s, "utf8"));
  }

  message(field: number, m: Writer): this {
    return this.bytes(field, m.finish());
  }

  finish(): Buffer {
    this.flush();
    return Buffer.concat(this.parts);
  }
}

export interface Field {
  readonly field: number;
  /** A varint's value, or a length-delimited field's bytes. */
  readonly value: number | Buffer;
}

/** Every field of a message, in order; fixed-width fields (unused by these messages) are skipped. */
export function readFields(buf: Uint8Array): Field[] {
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const fields: Field[] = [];
  let at = 0;
  const varint = (): number => {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (at >= b.length) throw new ProtobufError("truncated varint");
      const byte = b[at++] as number;
      // Bits past 2^53 only occur in negative int32s, which these messages do not read.
      if (scale < 2 ** 53) result += (byte & 0x7f) * scale;
      scale *= 0x80;
      if (byte < 0x80) return result;
    }
    throw new ProtobufError("varint longer than 10 bytes");
  };
  while (at < b.length) {
    const key = varint();
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (wire === VARINT) fields.push({ field, value: varint() });
    else if (wire === LEN) {
      const n = varint();
      if (at + n > b.length) throw new ProtobufError(`field ${field} runs past the end`);
      fields.push({ field, value: b.subarray(at, at + n) });
      at += n;
    } else if (wire === I64) at += 8;
    else if (wire === I32) at += 4;
    else throw new ProtobufError(`unsupported wire type ${wire} (field ${field})`);
  }
  if (at > b.length) throw new ProtobufError("truncated fixed-width field");
  return fields;
}

/** Typed access to a message's fields by number. */
export class Message {
  private readonly fields: Field[];
  constructor(buf: Uint8Array) {
    this.fields = readFields(buf);
  }

  private all(field: number): Array<number | Buffer> {
    return this.fields.filter((f) => f.field === field).map((f) => f.value);
  }

  bytesList(field: number): Buffer[] {
    return this.all(field).map((v) => {
      if (typeof v === "number") throw new ProtobufError(`field ${field} is not length-delimited`);
      return v;
    });
  }

  /** The last occurrence wins, as protobuf specifies for non-repeated fields. */
  bytes(field: number): Buffer | undefined {
    return this.bytesList(field).at(-1);
  }

  string(field: number): string | undefined {
    return this.bytes(field)?.toString("utf8");
  }

  strings(field: number): string[] {
    return this.bytesList(field).map((b) => b.toString("utf8"));
  }

  messages(field: number): Message[] {
    return this.bytesList(field).map((b) => new Message(b));
  }

  message(field: number): Message | undefined {
    const b = this.bytes(field);
    return b === undefined ? undefined : new Message(b);
  }

  uint(field: number): number | undefined {
    const v = this.all(field).at(-1);
    if (v !== undefined && typeof v !== "number") throw new ProtobufError(`field ${field} is not a varint`);
    return v;
  }

  bool(field: number): boolean | undefined {
    const v = this.uint(field);
    return v === undefined ? undefined : v !== 0;
  }
}
