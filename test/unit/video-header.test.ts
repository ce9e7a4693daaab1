import { describe, expect, it } from "vitest";
import { scanHeader } from "../../lib/video/header.js";
import { box, ftyp, mdat, moov, mvhd } from "../support/mp4.js";

/** A box whose size field is 0: it runs to the end of the file. */
const toEnd = (type: string, payload: Buffer) => {
  const b = box(type, payload);
  b.writeUInt32BE(0, 0);
  return b;
};

describe("MP4/MOV header scan", () => {
  it("finds mvhd in moov wherever moov's children put it, and rounds to the millisecond", () => {
    const file = Buffer.concat([ftyp(), box("moov", Buffer.concat([box("udta", Buffer.alloc(30)), mvhd(3, 10)]))]);
    expect(scanHeader(file, 0)).toEqual({ kind: "found", durationMs: 3_333 });
  });

  it("reads a moov that runs to the end of the file (size 0)", () => {
    expect(scanHeader(Buffer.concat([ftyp(), toEnd("moov", mvhd(1000, 2_500))]), 0)).toEqual({
      kind: "found",
      durationMs: 2_500,
    });
    expect(scanHeader(Buffer.concat([ftyp(), toEnd("mdat", Buffer.alloc(10))]), 0)).toMatchObject({
      kind: "invalid",
      reason: "no moov before mdat runs to the end",
    });
  });

  it("says where the walk goes on: past a 64-bit mdat, at moov when its mvhd is cut, at a cut header", () => {
    const head = Buffer.concat([ftyp(), mdat(100_000, true)]);
    expect(scanHeader(head.subarray(0, 1_000), 0)).toEqual({ kind: "need", offset: head.length });
    const whole = Buffer.concat([head, moov(mvhd(1000, 9_000))]);
    expect(scanHeader(whole.subarray(0, head.length + 30), 0)).toEqual({ kind: "need", offset: head.length });
    expect(scanHeader(whole.subarray(0, 5), 0)).toEqual({ kind: "need", offset: 0 });
    expect(scanHeader(whole.subarray(0, 40), 0)).toEqual({ kind: "need", offset: 32 });
    // Asked again from there, with the rest of the file.
    expect(scanHeader(whole.subarray(head.length), head.length)).toEqual({ kind: "found", durationMs: 9_000 });
  });

  it("refuses what is not a video header", () => {
    expect(scanHeader(Buffer.from("GIF89a\x01\x00\x01\x00", "latin1"), 0)).toMatchObject({ kind: "invalid" });
    expect(scanHeader(Buffer.concat([ftyp(), box("mo\x01v", Buffer.alloc(4))]), 0)).toMatchObject({
      reason: "a box type is not text",
    });
    const v2 = mvhd(1000, 1000);
    v2.writeUInt8(2, 8);
    expect(scanHeader(Buffer.concat([ftyp(), moov(v2)]), 0)).toMatchObject({ reason: "mvhd version 2" });
    const huge = Buffer.concat([ftyp(), box("mdat", Buffer.alloc(0), true)]);
    huge.writeBigUInt64BE(2n ** 60n, ftyp().length + 8);
    expect(scanHeader(huge, 0)).toMatchObject({ kind: "invalid", reason: /mdat is \d+ bytes/ });
  });
});
