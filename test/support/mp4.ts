/** MP4/MOV bytes built in the test, and a loopback server that serves them (with Range, or not). */
import type { IncomingMessage, ServerResponse } from "node:http";
import { onTestFinished } from "vitest";
import { listenOnLoopback } from "../../dev/loopback.js";

/** A box: u32 size, type, payload; `large` writes size 1 and a u64 size (as a >4 GiB mdat has). */
export function box(type: string, payload: Buffer = Buffer.alloc(0), large = false): Buffer {
  const header = Buffer.alloc(large ? 16 : 8);
  const size = header.length + payload.length;
  header.writeUInt32BE(large ? 1 : size, 0);
  header.write(type, 4, "latin1");
  if (large) header.writeBigUInt64BE(BigInt(size), 8);
  return Buffer.concat([header, payload]);
}

/** An mvhd box of `version` 0 or 1 (its other fields zero, as far as the reader cares). */
export function mvhd(timescale: number, duration: number | bigint, version: 0 | 1 = 0): Buffer {
  const payload = Buffer.alloc(version === 0 ? 100 : 112);
  payload.writeUInt8(version, 0);
  if (version === 0) {
    payload.writeUInt32BE(timescale, 12);
    payload.writeUInt32BE(Number(duration), 16);
  } else {
    payload.writeUInt32BE(timescale, 20);
    payload.writeBigUInt64BE(BigInt(duration), 24);
  }
  return box("mvhd", payload);
}

export const ftyp = () => box("ftyp", Buffer.from("isom\0\0\x02\0isomiso2avc1mp41", "latin1"));
/** A moov holding mvhd and a track (its contents beyond mvhd are never read). */
export const moov = (header: Buffer) => box("moov", Buffer.concat([header, box("trak", Buffer.alloc(400))]));
export const mdat = (bytes: number, large = false) => box("mdat", Buffer.alloc(bytes, 7), large);

/** Fast start: moov before the media, as files made for streaming are. */
export const moovFirst = (seconds: number) => Buffer.concat([ftyp(), moov(mvhd(1000, seconds * 1000)), mdat(200_000)]);
/** A camera's or editor's file: the media first, moov at the end. */
export const moovLast = (seconds: number, mediaBytes = 3_000_000) =>
  Buffer.concat([ftyp(), box("free"), mdat(mediaBytes, true), moov(mvhd(600, seconds * 600))]);

export interface Served {
  readonly url: string;
  /** Each request's Range header ("" without one). */
  readonly ranges: string[];
  /** Bytes written to answers (whatever the client read of them). */
  sent(): number;
}

/** Serves `file` at /v.mp4 on 127.0.0.1, honouring single ranges unless `ignoreRange`. */
export async function serveVideo(
  file: Buffer,
  options: { ignoreRange?: boolean; handler?: (req: IncomingMessage, res: ServerResponse) => boolean } = {},
): Promise<Served> {
  const ranges: string[] = [];
  let sent = 0;
  const server = await listenOnLoopback((req, res) => {
    ranges.push(String(req.headers.range ?? ""));
    if (options.handler?.(req, res)) return;
    const m = /^bytes=(\d+)-(\d+)?$/.exec(String(req.headers.range ?? ""));
    if (!m || options.ignoreRange) {
      sent += file.length;
      res.writeHead(200, { "content-type": "video/mp4", "content-length": file.length }).end(file);
      return;
    }
    const start = Number(m[1]);
    if (start >= file.length) {
      res.writeHead(416, { "content-range": `bytes */${file.length}` }).end();
      return;
    }
    const end = Math.min(m[2] === undefined ? file.length - 1 : Number(m[2]), file.length - 1);
    const part = file.subarray(start, end + 1);
    sent += part.length;
    res
      .writeHead(206, {
        "content-type": "video/mp4",
        "content-range": `bytes ${start}-${end}/${file.length}`,
        "content-length": part.length,
      })
      .end(part);
  });
  onTestFinished(() => server.close());
  return { url: `${server.url}/v.mp4`, ranges, sent: () => sent };
}
