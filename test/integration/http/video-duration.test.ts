/**
 * Reading a video's duration from its MP4/MOV header over HTTP: at most two ranged GETs, at most
 * 1 MiB, through the SSRF guard, no redirect, a deadline; any failure is undefined and one debug line.
 */
import { describe, expect, it } from "vitest";
import { listenOnLoopback } from "../../../dev/loopback.js";
import { READ_BUDGET_BYTES, type VideoDurationDeps, videoDurationReader } from "../../../lib/video/read-duration.js";
import { box, ftyp, mdat, moov, moovFirst, moovLast, mvhd, serveVideo } from "../../support/mp4.js";

function reader(extra: Partial<VideoDurationDeps> = {}) {
  const lines: Array<Record<string, unknown>> = [];
  const read = videoDurationReader({ allowPrivateTargets: true, log: (e) => lines.push(e), ...extra });
  return { read, lines };
}

/** A read that gave nothing said why once, at debug level, and named only the host. */
function expectOneDebugLine(lines: Array<Record<string, unknown>>, reason: RegExp) {
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatchObject({ level: "debug", msg: "video duration: header not read" });
  expect(String(lines[0]?.reason)).toMatch(reason);
  expect(String(lines[0]?.host)).toMatch(/^127\.0\.0\.1:\d+$/);
}

describe("video duration from the file's header", () => {
  it("moov first: one GET of the first 64 KiB", async () => {
    const video = await serveVideo(moovFirst(93.5));
    const { read, lines } = reader();
    expect(await read(video.url)).toBe(93_500);
    expect(video.ranges).toEqual(["bytes=0-65535"]);
    expect(lines).toEqual([]);
  });

  it("moov after a large mdat (64-bit size): a second GET from where the walk goes on, within the budget", async () => {
    const file = moovLast(3_723.25, 3_000_000);
    const video = await serveVideo(file);
    const { read } = reader();
    expect(await read(video.url)).toBe(3_723_250);
    expect(video.ranges).toHaveLength(2);
    const moovAt = file.length - moov(mvhd(600, 0)).length;
    // From moov's offset, for what the budget leaves after the first GET (which stopped reading
    // once its walk left its 64 KiB: at most 64 KiB).
    const [, start, end] = /^bytes=(\d+)-(\d+)$/.exec(video.ranges[1] ?? "") ?? [];
    expect(Number(start)).toBe(moovAt);
    const span = Number(end) - Number(start) + 1;
    expect(span).toBeGreaterThanOrEqual(READ_BUDGET_BYTES - 65_536);
    expect(span).toBeLessThan(READ_BUDGET_BYTES);
    expect(video.sent()).toBeLessThanOrEqual(READ_BUDGET_BYTES);
  });

  it("moov begun in the first 64 KiB but its mvhd past them: the second GET starts at moov", async () => {
    const head = Buffer.concat([ftyp(), box("free", Buffer.alloc(65_536 - 32 - 8 - 20))]);
    const file = Buffer.concat([head, moov(mvhd(1000, 61_000)), mdat(100)]);
    const video = await serveVideo(file);
    expect(await reader().read(video.url)).toBe(61_000);
    expect(video.ranges).toEqual([
      "bytes=0-65535",
      `bytes=${head.length}-${head.length + READ_BUDGET_BYTES - 65_536 - 1}`,
    ]);
  });

  it("reads a version-1 mvhd (64-bit duration, 90 kHz timescale)", async () => {
    const seconds = 80_000; // 7.2e9 ticks: more than 32 bits hold
    const file = Buffer.concat([ftyp(), moov(mvhd(90_000, BigInt(90_000 * seconds) + 45_000n, 1)), mdat(10)]);
    const { read } = reader();
    expect(await read((await serveVideo(file)).url)).toBe(80_000_500);
  });

  it("a server that ignores Range: the answer serves if moov is early, and reading stops at 1 MiB if not", async () => {
    const early = await serveVideo(moovFirst(12), { ignoreRange: true });
    expect(await reader().read(early.url)).toBe(12_000);
    // An endless file of small boxes that never gets to moov: only the budget ends the read.
    const endless = await serveVideo(Buffer.alloc(0), {
      handler: (_req, res) => {
        res.writeHead(200, { "content-type": "video/mp4" });
        res.write(ftyp());
        const chunk = Buffer.concat(Array.from({ length: 64 }, () => box("free", Buffer.alloc(1016))));
        const more = () => {
          while (!res.destroyed && res.write(chunk));
          if (!res.destroyed) res.once("drain", more);
        };
        more();
        return true;
      },
    });
    const { read, lines } = reader();
    expect(await read(endless.url)).toBeUndefined();
    expectOneDebugLine(
      lines,
      new RegExp(`no mvhd in the first ${READ_BUDGET_BYTES} bytes, and the server ignores Range`),
    );
    expect(endless.ranges).toHaveLength(1);
  });

  it.each([
    ["truncated inside moov", moovFirst(10).subarray(0, 60), /HTTP 416|no mvhd/],
    ["an HTML page", Buffer.from("<!DOCTYPE html><html><body>not found</body></html>"), /not an MP4\/MOV file/],
    ["random bytes", Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) % 251)), /not|box/],
    [
      "a box shorter than its header",
      Buffer.concat([ftyp(), Buffer.from([0, 0, 0, 4, 0x6d, 0x6f, 0x6f, 0x76])]),
      /is 4 bytes/,
    ],
    ["mvhd without a duration", Buffer.concat([ftyp(), moov(mvhd(1000, 0xffff_ffff))]), /no duration/],
    ["a zero timescale", Buffer.concat([ftyp(), moov(mvhd(0, 1000))]), /timescale is 0/],
    ["moov without mvhd", Buffer.concat([ftyp(), box("moov", box("trak", Buffer.alloc(20)))]), /no mvhd/],
    ["a day or more", Buffer.concat([ftyp(), moov(mvhd(1, 86_400))]), /a day or more/],
  ])("%s: undefined, one debug line", async (_, file, reason) => {
    const { read, lines } = reader();
    expect(await read((await serveVideo(file)).url)).toBeUndefined();
    expectOneDebugLine(lines, reason);
  });

  it("a server that never answers: undefined at the deadline", async () => {
    const hanging = await serveVideo(Buffer.alloc(0), { handler: () => true });
    const { read, lines } = reader({ requestTimeoutMs: 150, totalTimeoutMs: 300 });
    const started = Date.now();
    expect(await read(hanging.url)).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(2_000);
    expectOneDebugLine(lines, /no answer within 150 ms/);
  });

  it("one that stalls mid-body: the whole read's deadline ends it", async () => {
    const stalling = await serveVideo(Buffer.alloc(0), {
      handler: (_req, res) => {
        res.writeHead(206, { "content-range": "bytes 0-65535/9999999" }).write(ftyp());
        return true;
      },
    });
    const { read, lines } = reader({ requestTimeoutMs: 3_000, totalTimeoutMs: 200 });
    const started = Date.now();
    expect(await read(stalling.url)).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(2_000);
    expectOneDebugLine(lines, /no answer within \d+ ms/);
  });

  it("a name that takes long to resolve: the whole read's deadline covers it", async () => {
    const resolve = () => new Promise<never>(() => {});
    const { read, lines } = reader({ resolve, totalTimeoutMs: 100 });
    const started = Date.now();
    expect(await read("http://slow-dns.test/v.mp4")).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: "debug", host: "slow-dns.test", reason: "no answer within 100 ms in all" });
  });

  it("a private address is refused by the guard when private targets are not allowed: nothing is asked", async () => {
    const video = await serveVideo(moovFirst(5));
    const { read, lines } = reader({ allowPrivateTargets: false });
    expect(await read(video.url)).toBeUndefined();
    expect(video.ranges).toEqual([]);
    expectOneDebugLine(lines, /refused: .*loopback/);
  });

  it("connects to the address the guard checked, not to what the name resolves to later", async () => {
    const video = await serveVideo(moovFirst(7));
    const url = video.url.replace("127.0.0.1", "videos.test");
    let asked = 0;
    const resolve = async () => {
      asked++;
      return [{ address: "127.0.0.1", family: 4 as const }];
    };
    const { read } = reader({ resolve });
    expect(await read(url)).toBe(7_000);
    expect(asked).toBe(1);
  });

  it("a redirect is not followed", async () => {
    const target = await serveVideo(moovFirst(5));
    const redirecting = await serveVideo(Buffer.alloc(0), {
      handler: (_req, res) => {
        res.writeHead(302, { location: target.url }).end();
        return true;
      },
    });
    const { read, lines } = reader();
    expect(await read(redirecting.url)).toBeUndefined();
    expect(target.ranges).toEqual([]);
    expectOneDebugLine(lines, /redirect \(HTTP 302\) is not followed/);
  });

  it("refuses what is not http(s), and an error status", async () => {
    const { read, lines } = reader();
    expect(await read("oss://bucket/v.mp4")).toBeUndefined();
    expect(String(lines[0]?.reason)).toMatch(/oss: URLs are not allowed/);
    const gone = await listenOnLoopback((_req, res) => res.writeHead(404).end());
    const second = reader();
    expect(await second.read(`${gone.url}/v.mp4`)).toBeUndefined();
    await gone.close();
    expectOneDebugLine(second.lines, /HTTP 404/);
  });
});
