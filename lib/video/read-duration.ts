/**
 * A video's duration read from its MP4/MOV header, for a task the relay submits itself without a
 * hint: at most two ranged GETs (the file's start, then where `moov` lies when a large `mdat` comes
 * first), at most 1 MiB read in all even from a server that ignores Range, each GET to an address
 * the SSRF guard checked, no redirect followed, and a deadline on each and on the whole.
 *
 * It never fails: a header that cannot be read gives undefined and one debug line saying why. A
 * submission goes ahead exactly as it would have without it.
 */
import { Agent, type Dispatcher } from "undici";
import { Deadline } from "../deadline.js";
import { checkTarget, pinnedLookup, type Resolver, type Target } from "../delivery/guard.js";
import { coerceError } from "../errors.js";
import type { Log } from "../log.js";
import { MAX_VIDEO_DURATION_SECONDS } from "../tasks.js";
import { type HeaderScan, scanHeader } from "./header.js";

/** The first GET: the start of the file, where a file made for streaming keeps its moov. */
export const FIRST_READ_BYTES = 64 * 1024;
/** Every byte read, over both GETs. */
export const READ_BUDGET_BYTES = 1024 * 1024;

export interface VideoDurationDeps {
  readonly allowPrivateTargets: boolean;
  readonly resolve?: Resolver | undefined;
  readonly log?: Log | undefined;
  /** Each GET's deadline (default 3 s) and the whole read's (default 5 s). */
  readonly requestTimeoutMs?: number;
  readonly totalTimeoutMs?: number;
}

export type VideoDurationReader = (url: string) => Promise<number | undefined>;

/** Why a read gave nothing: said once, at debug level. */
class NoDuration extends Error {}

interface Got {
  readonly scan: HeaderScan;
  readonly bytes: number;
  /** The server answered the range (206 from the offset asked): a second range may be asked. */
  readonly ranged: boolean;
}

/**
 * One GET of `limit` bytes from `offset`: read until the scan is settled, the answer ends, or the
 * limit (`wholeLimit` when the server ignores Range and sends the whole file: no second GET can
 * then do better, so the first may read the whole budget).
 */
async function get(
  agent: Agent,
  target: Target,
  range: { readonly offset: number; readonly limit: number; readonly wholeLimit: number },
  timeoutMs: number,
): Promise<Got> {
  const { offset } = range;
  const deadline = new Deadline(timeoutMs);
  let body: Dispatcher.ResponseData["body"] | undefined;
  try {
    const response = await agent.request({
      origin: target.url.origin,
      path: `${target.url.pathname}${target.url.search}`,
      method: "GET",
      headers: { range: `bytes=${offset}-${offset + range.limit - 1}`, "accept-encoding": "identity" },
      signal: deadline,
    });
    body = response.body;
    const { statusCode } = response;
    if (statusCode >= 300 && statusCode < 400) throw new NoDuration(`a redirect (HTTP ${statusCode}) is not followed`);
    if (statusCode !== 200 && statusCode !== 206) throw new NoDuration(`HTTP ${statusCode}`);
    const from = /^bytes (\d+)-/.exec(String(response.headers["content-range"] ?? ""));
    const ranged = statusCode === 206 && from !== null && Number(from[1]) === offset;
    if (!ranged && offset !== 0) throw new NoDuration(`the server did not answer the range from ${offset}`);
    const limit = ranged ? range.limit : range.wholeLimit;
    const chunks: Buffer[] = [];
    let bytes = 0;
    let scan: HeaderScan = { kind: "need", offset };
    for await (const chunk of body) {
      const part = (chunk as Buffer).subarray(0, limit - bytes);
      chunks.push(part);
      bytes += part.length;
      scan = scanHeader(Buffer.concat(chunks), offset);
      // Settled, or the walk goes on past what this answer may bring: read no more of it.
      if (scan.kind !== "need" || scan.offset >= offset + limit || bytes >= limit) break;
    }
    return { scan, bytes, ranged };
  } catch (error) {
    if (error instanceof NoDuration) throw error;
    if (deadline.aborted) throw new NoDuration(`no answer within ${Math.round(timeoutMs)} ms`);
    throw new NoDuration(coerceError(error).message);
  } finally {
    deadline.clear();
    // An answer left unread is dropped with its connection; the abort it reports is expected.
    body?.on("error", () => {}).destroy();
  }
}

async function read(url: string, deps: VideoDurationDeps, agent: Agent, pins: Map<string, Target>): Promise<number> {
  const started = performance.now();
  const total = deps.totalTimeoutMs ?? 5_000;
  const each = deps.requestTimeoutMs ?? 3_000;
  const left = () => Math.max(1, Math.min(each, total - (performance.now() - started)));
  let target: Target;
  try {
    target = await checkTarget(url, { allowPrivate: deps.allowPrivateTargets, resolve: deps.resolve });
  } catch (error) {
    throw new NoDuration(`refused: ${coerceError(error).message}`);
  }
  pins.set(target.url.hostname.replace(/^\[|\]$/g, ""), target);
  const first = await get(agent, target, { offset: 0, limit: FIRST_READ_BYTES, wholeLimit: READ_BUDGET_BYTES }, left());
  let scan = first.scan;
  if (scan.kind === "need") {
    if (!first.ranged) throw new NoDuration(`no mvhd in the first ${first.bytes} bytes, and the server ignores Range`);
    const budget = READ_BUDGET_BYTES - first.bytes;
    const second = await get(agent, target, { offset: scan.offset, limit: budget, wholeLimit: budget }, left());
    scan = second.scan;
    if (scan.kind === "need") throw new NoDuration(`no mvhd within ${first.bytes + second.bytes} bytes`);
  }
  if (scan.kind === "invalid") throw new NoDuration(scan.reason);
  if (scan.durationMs >= MAX_VIDEO_DURATION_SECONDS * 1000)
    throw new NoDuration(`the header says ${scan.durationMs} ms, a day or more`);
  return scan.durationMs;
}

/**
 * A reader of video durations, through its own connection pool: it connects only to addresses
 * the guard checked for the URL it reads.
 */
export function videoDurationReader(deps: VideoDurationDeps): VideoDurationReader {
  return async (url) => {
    const pins = new Map<string, Target>();
    const agent = new Agent({
      connections: 1,
      connect: {
        timeout: deps.requestTimeoutMs ?? 3_000,
        lookup: pinnedLookup((host) => pins.get(host)?.address),
      } as unknown as Agent.Options["connect"],
    });
    const totalMs = deps.totalTimeoutMs ?? 5_000;
    let timer: NodeJS.Timeout | undefined;
    // The whole read, the name's resolution included (the GETs have their own deadlines too).
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new NoDuration(`no answer within ${totalMs} ms in all`)), totalMs);
    });
    const reading = read(url, deps, agent, pins);
    reading.catch(() => {}); // when late wins, its failure (the agent closed under it) is not news
    try {
      return await Promise.race([reading, late]);
    } catch (error) {
      // The host only: a video URL's query often carries a signature.
      const host = URL.canParse(url) ? new URL(url).host : undefined;
      deps.log?.({ level: "debug", msg: "video duration: header not read", host, reason: coerceError(error).message });
      return undefined;
    } finally {
      clearTimeout(timer);
      agent.destroy().catch(() => {});
    }
  };
}
