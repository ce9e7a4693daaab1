/**
 * A video's duration from the start of an MP4/MOV file: the top-level boxes are walked to `moov`,
 * and `moov`'s `mvhd` gives timescale and duration. Only bytes are read here (no I/O): the caller
 * fetches ranges and asks again with more when told where the walk must go on.
 *
 * Box: size u32, type (4 ASCII bytes), then a u64 size when size is 1 (0: to the end of the file).
 * mvhd is a full box: version u8, flags u24, then v0: creation u32, modification u32, timescale u32,
 * duration u32; v1: creation u64, modification u64, timescale u32, duration u64.
 */

export type HeaderScan =
  | { readonly kind: "found"; readonly durationMs: number }
  /** The walk goes on at this file offset: a box that starts there, or `moov` (to read its mvhd). */
  | { readonly kind: "need"; readonly offset: number }
  | { readonly kind: "invalid"; readonly reason: string };

/** What a file may start with: ISO base media (ftyp) or QuickTime's older openings. */
const FIRST_BOXES = new Set(["ftyp", "moov", "mdat", "free", "skip", "wide", "pnot", "uuid"]);

interface Box {
  readonly type: string;
  /** From the box's start; Infinity for a box that runs to the end of the file. */
  readonly size: number;
  readonly headerSize: number;
}

/** The box whose header starts at `at`, undefined when the header is not all in `buf`. */
function boxAt(buf: Buffer, at: number): Box | { readonly invalid: string } | undefined {
  if (at + 8 > buf.length) return undefined;
  const size32 = buf.readUInt32BE(at);
  const typeBytes = buf.subarray(at + 4, at + 8);
  if (!typeBytes.every((b) => b >= 0x20 && b <= 0x7e)) return { invalid: "a box type is not text" };
  const type = typeBytes.toString("latin1");
  if (size32 === 0) return { type, size: Number.POSITIVE_INFINITY, headerSize: 8 };
  if (size32 !== 1)
    return size32 < 8 ? { invalid: `box ${type} is ${size32} bytes` } : { type, size: size32, headerSize: 8 };
  if (at + 16 > buf.length) return undefined;
  const size64 = buf.readBigUInt64BE(at + 8);
  if (size64 < 16n || size64 > BigInt(Number.MAX_SAFE_INTEGER)) return { invalid: `box ${type} is ${size64} bytes` };
  return { type, size: Number(size64), headerSize: 16 };
}

/** mvhd's duration in ms, from its payload (after the box header). */
function mvhdDuration(payload: Buffer): HeaderScan {
  const version = payload[0];
  let timescale: number;
  let duration: number;
  if (version === 0) {
    if (payload.length < 20) return { kind: "invalid", reason: "mvhd is too short" };
    timescale = payload.readUInt32BE(12);
    const raw = payload.readUInt32BE(16);
    // All ones: the duration is not known (a fragmented or live file).
    if (raw === 0xffff_ffff) return { kind: "invalid", reason: "mvhd has no duration" };
    duration = raw;
  } else if (version === 1) {
    if (payload.length < 32) return { kind: "invalid", reason: "mvhd is too short" };
    timescale = payload.readUInt32BE(20);
    const raw = payload.readBigUInt64BE(24);
    if (raw === 0xffff_ffff_ffff_ffffn) return { kind: "invalid", reason: "mvhd has no duration" };
    duration = Number(raw);
  } else {
    return { kind: "invalid", reason: `mvhd version ${version}` };
  }
  if (timescale === 0) return { kind: "invalid", reason: "mvhd's timescale is 0" };
  const durationMs = Math.round((duration * 1000) / timescale);
  if (!Number.isFinite(durationMs) || durationMs <= 0) return { kind: "invalid", reason: "mvhd's duration is 0" };
  return { kind: "found", durationMs };
}

/** moov's children, from its start at `at` in `buf`, to its mvhd. */
function inMoov(buf: Buffer, at: number, moov: Box, base: number): HeaderScan {
  const end = Math.min(at + moov.size, buf.length);
  let pos = at + moov.headerSize;
  while (pos < at + moov.size) {
    const child = boxAt(buf, pos);
    if (child === undefined) return { kind: "need", offset: base + at };
    if ("invalid" in child) return { kind: "invalid", reason: child.invalid };
    if (child.type === "mvhd") {
      if (!Number.isFinite(child.size) || pos + child.size > at + moov.size)
        return { kind: "invalid", reason: "mvhd overruns moov" };
      if (pos + child.size > end) return { kind: "need", offset: base + at };
      return mvhdDuration(buf.subarray(pos + child.headerSize, pos + child.size));
    }
    if (!Number.isFinite(child.size)) break;
    pos += child.size;
  }
  return { kind: "invalid", reason: "moov holds no mvhd" };
}

/**
 * Walks the top-level boxes in `buf`, which holds the file's bytes from offset `base`, where a
 * top-level box starts (0: the file's start).
 */
export function scanHeader(buf: Buffer, base: number): HeaderScan {
  let pos = 0;
  for (;;) {
    const box = boxAt(buf, pos);
    if (box === undefined) return { kind: "need", offset: base + pos };
    if ("invalid" in box) return { kind: "invalid", reason: box.invalid };
    if (base + pos === 0 && !FIRST_BOXES.has(box.type))
      return { kind: "invalid", reason: `not an MP4/MOV file (it starts with ${JSON.stringify(box.type)})` };
    if (box.type === "moov") return inMoov(buf, pos, box, base);
    if (!Number.isFinite(box.size)) return { kind: "invalid", reason: `no moov before ${box.type} runs to the end` };
    pos += box.size;
  }
}
