/**
 * One webhook POST. Connections go only to addresses the guard checked: the agent's DNS lookup is
 * replaced by the pin the guard left for that host, so nothing re-resolves the name between check
 * and connect. Redirects are not followed (a 3xx is a failure), every attempt has a deadline, and
 * at most 4 KiB of the answer is kept.
 */

import { Agent, type Dispatcher } from "undici";
import { withDeadline } from "../deadline.js";
import { coerceError } from "../errors.js";
import { type FailureClass, failureClassOf, retryAfterMs } from "../http-failure.js";
import { pinnedLookup, type ResolvedAddress, type Target } from "./guard.js";
import { isSendableHeaderValue } from "./sign.js";

export const EXCERPT_BYTES = 4096;
/** Reading stops here: a huge answer costs the connection, not memory. */
const READ_LIMIT_BYTES = 64 * 1024;

export interface Attempt {
  readonly target: Target;
  /** What is left of the attempt's time (the guard's lookup took the rest); default: all of it. */
  readonly timeoutMs?: number | undefined;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export type { FailureClass } from "../http-failure.js";

export interface AttemptResult {
  readonly statusCode: number | undefined;
  /** Set when no HTTP answer came back. */
  readonly failure?: FailureClass | undefined;
  /** Network-level failure text; undefined when an HTTP answer came back. */
  readonly error: string | undefined;
  /** Refused or reset before any answer: worth an immediate quick retry. */
  readonly connectionError: boolean;
  readonly excerpt: string | undefined;
  readonly retryAfterMs: number | undefined;
  readonly durationMs: number;
}

/**
 * The answer's first bytes, read through its "data" events: an async iterator over the stream
 * costs several objects and promises per chunk, and most answers are one chunk or none.
 */
function readExcerpt(body: Dispatcher.ResponseData["body"], chunks: Buffer[]): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    let settled = false;
    const done = () => {
      if (settled) return;
      settled = true;
      resolve(excerptOf(chunks));
    };
    body.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= READ_LIMIT_BYTES) {
        body.destroy();
        done();
      }
    });
    body.once("end", done);
    body.once("error", (error) => {
      settled = true;
      reject(error);
    });
    // Destroyed without an error (never before "error" when there is one): what came so far.
    body.once("close", done);
  });
}

function excerptOf(chunks: readonly Buffer[]): string {
  if (chunks.length === 0) return "";
  const all = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
  // Cut on a character boundary: decode, then trim to the byte budget.
  let text = all.subarray(0, EXCERPT_BYTES).toString("utf8");
  while (Buffer.byteLength(text) > EXCERPT_BYTES) text = text.slice(0, -1);
  return text.replace(/\uFFFD$/, "");
}

/** A header registration would refuse now (a webhook stored before it did): undici refuses it too. */
function unsendableHeader(headers: Readonly<Record<string, string>>): string | undefined {
  for (const name in headers) if (!isSendableHeaderValue(headers[name] as string)) return name;
  return undefined;
}

function unsent(error: string): AttemptResult {
  return {
    statusCode: undefined,
    failure: "other",
    error,
    connectionError: false,
    excerpt: undefined,
    retryAfterMs: undefined,
    durationMs: 0,
  };
}

/**
 * Hosts whose checked address the sender keeps, least recently sent to dropped first. Each connect
 * reads its host's address just after the send set it, so only the hosts in flight need one, and a
 * relay whose tasks name their own webhook hosts must not keep every host it ever sent to.
 */
export const MAX_PINNED_HOSTS = 4096;

/**
 * A failed send as the delivery's record says it. undici asserts on a few answers HTTP/1.1 does not
 * allow (a status below 100, a 101 nobody asked for), and its assertion's own text ("The expression
 * evaluated to a falsy value") is for undici's developers, not for the endpoint's owner.
 */
function sendFailureText(cause: unknown): string {
  const code = (cause as { code?: unknown }).code;
  const { message } = coerceError(cause);
  if (code === "ERR_ASSERTION") {
    const check = /assert\((.*)\)/.exec(message)?.[1];
    return `the receiver's answer is not valid HTTP/1.1 (a status below 100, or a 101 switching protocols)${check ? `: undici's check ${check} failed` : ""}`;
  }
  return `${typeof code === "string" ? `${code}: ` : ""}${message}`;
}

export class WebhookSender {
  private readonly pins = new Map<string, ResolvedAddress>();
  readonly dispatcher: Agent;

  get timeoutMs(): number {
    return this.options.timeoutMs;
  }

  /** How many hosts have a checked address kept. */
  get pinnedHosts(): number {
    return this.pins.size;
  }

  constructor(private readonly options: { timeoutMs: number; maxPinnedHosts?: number }) {
    // No cap on connections per origin: undici pools by origin, and endpoints on one host (a
    // multi-tenant hook service, one app's routes) would wait for the sockets a stuck neighbour
    // holds, their wait charged to their own deadline. The endpoint queues bound what is in flight.
    this.dispatcher = new Agent({
      connect: {
        timeout: options.timeoutMs,
        lookup: pinnedLookup((host) => this.pins.get(host)),
      } as unknown as Agent.Options["connect"],
    });
  }

  private pin(host: string, address: ResolvedAddress): void {
    // Deleted first, so that the map's order is the order of last use.
    this.pins.delete(host);
    this.pins.set(host, address);
    if (this.pins.size > (this.options.maxPinnedHosts ?? MAX_PINNED_HOSTS))
      this.pins.delete(this.pins.keys().next().value as string);
  }

  async send(attempt: Attempt, nowMs: () => number): Promise<AttemptResult> {
    const { target } = attempt;
    const unsendable = unsendableHeader(attempt.headers);
    if (unsendable !== undefined)
      return unsent(
        `the value of header "${unsendable}" holds characters a header cannot carry (only visible ASCII, spaces and tabs): change the webhook's headers`,
      );
    this.pin(target.url.hostname.replace(/^\[|\]$/g, ""), target.address);
    const started = performance.now();
    const timeoutMs = attempt.timeoutMs ?? this.options.timeoutMs;
    // The status line is the answer: a body cut or trickled after it is read as far as it came.
    // Taken for a failure, a 2xx would be sent again, and the endpoint counted as failing.
    let response: Dispatcher.ResponseData | undefined;
    const chunks: Buffer[] = [];
    const answered = (r: Dispatcher.ResponseData, excerpt: string): AttemptResult => ({
      statusCode: r.statusCode,
      error: undefined,
      connectionError: false,
      excerpt,
      retryAfterMs: retryAfterMs(r.headers["retry-after"], nowMs()),
      durationMs: performance.now() - started,
    });
    try {
      return await withDeadline(timeoutMs, async (signal) => {
        response = await this.dispatcher.request({
          origin: target.url.origin,
          path: `${target.url.pathname}${target.url.search}`,
          method: "POST",
          headers: attempt.headers,
          body: attempt.body,
          signal,
        });
        return answered(response, await readExcerpt(response.body, chunks));
      });
    } catch (cause) {
      if (response !== undefined) {
        response.body.destroy();
        return answered(response, excerptOf(chunks));
      }
      const failure = failureClassOf(cause);
      return {
        statusCode: undefined,
        failure,
        error: failure === "timeout" ? `timed out after ${this.options.timeoutMs} ms` : sendFailureText(cause),
        connectionError: failure === "connection",
        excerpt: undefined,
        retryAfterMs: undefined,
        durationMs: performance.now() - started,
      };
    }
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }
}
