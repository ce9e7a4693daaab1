/** The API on node:http (`quanmiao-relay serve`, `npm start`). */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { coerceError } from "../errors.js";
import type { Log } from "../log.js";
import { ConnectionSlots } from "./connection-slots.js";
import {
  type ApiRequestHead,
  type ApiResponse,
  errorResponse,
  HttpError,
  json,
  MAX_BODY_BYTES,
  tooLarge,
} from "./http.js";
import { parseQuery } from "./request-guards.js";
import type { Handle } from "./router.js";

/** Bytes of request bodies the server holds at once, across its connections. */
interface BodyBudget {
  readonly maxBytes: number;
  usedBytes: number;
}

type Read = { body: Buffer; over: boolean; heldBytes: number } | { busy: true; heldBytes: number };

/**
 * The body, or whether it went past the limit, or that the server holds too much of others' bodies
 * to take it now; undefined when the client went away mid-upload. What it holds counts against the
 * budget until the caller gives `heldBytes` back.
 */
async function readBody(req: IncomingMessage, budget: BodyBudget): Promise<Read | undefined> {
  const chunks: Buffer[] = [];
  let heldBytes = 0;
  try {
    for await (const chunk of req) {
      const bytes = (chunk as Buffer).length;
      // Stop reading: the answer does not depend on the rest.
      if (heldBytes + bytes > MAX_BODY_BYTES) return { body: Buffer.alloc(0), over: true, heldBytes };
      if (budget.usedBytes + bytes > budget.maxBytes) return { busy: true, heldBytes };
      budget.usedBytes += bytes;
      heldBytes += bytes;
      chunks.push(chunk as Buffer);
    }
  } catch {
    budget.usedBytes -= heldBytes;
    return undefined;
  }
  return { body: Buffer.concat(chunks), over: false, heldBytes };
}

/**
 * The path and query of a request target, split by hand: `new URL` throws on targets a client may
 * send as they are (`//[`), and the path is kept as received (still percent-encoded) anyway.
 */
export function splitTarget(target: string): { path: string; search: string } {
  const query = target.indexOf("?");
  if (query < 0) return { path: target, search: "" };
  const fragment = target.indexOf("#", query);
  return { path: target.slice(0, query), search: target.slice(query + 1, fragment < 0 ? undefined : fragment) };
}

function headOf(req: IncomingMessage): ApiRequestHead {
  const headers: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(", ") : v;
  const { path, search } = splitTarget(req.url ?? "/");
  return { method: req.method ?? "GET", path, query: parseQuery(search), headers };
}

/**
 * The answer the head alone decides: the router's refusals, a Content-Length over the limit, or a
 * query that is not UTF-8. None waits for the body (nor, with `Expect: 100-continue`, asks for it).
 */
function refuseEarly(handle: Handle, req: IncomingMessage): ApiResponse | ApiRequestHead {
  let head: ApiRequestHead;
  try {
    head = headOf(req);
  } catch (error) {
    if (error instanceof HttpError) return errorResponse(error);
    throw error;
  }
  if (Number(req.headers["content-length"]) > MAX_BODY_BYTES) return tooLarge();
  return handle.screen?.(head) ?? head;
}

const isResponse = (x: ApiResponse | ApiRequestHead): x is ApiResponse => "status" in x;

function send(res: ServerResponse, response: ApiResponse, close: boolean): void {
  res.writeHead(response.status, { ...response.headers, ...(close ? { connection: "close" } : {}) });
  res.end(response.body);
}

/** Answered when the bodies the server holds would pass its budget: the client should try again soon. */
function busy(): ApiResponse {
  return errorResponse(
    new HttpError(503, "busy", "the relay holds too many request bodies at once: try again in a moment", [], {
      "retry-after": "1",
    }),
  );
}

async function answer(
  handle: Handle,
  req: IncomingMessage,
  res: ServerResponse,
  options: { expectsContinue: boolean; budget: BodyBudget },
): Promise<void> {
  const early = refuseEarly(handle, req);
  // Node discards an unread body once the answer is sent; an oversized one is not worth that wait.
  if (isResponse(early)) return send(res, early, early.status === 413);
  if (options.expectsContinue) res.writeContinue();
  const read = await readBody(req, options.budget);
  if (read === undefined) {
    res.destroy();
    return;
  }
  try {
    if ("busy" in read) return send(res, busy(), true);
    if (read.over) return send(res, tooLarge(), true);
    send(res, await handle({ ...early, body: read.body }), false);
  } finally {
    options.budget.usedBytes -= read.heldBytes;
  }
}

/** The longest a client may take to send a whole request: node's default is 5 minutes. */
export const REQUEST_TIMEOUT_MS = 30_000;

/** Open connections at once: the CLI, the console and integrations need a handful. */
export const MAX_CONNECTIONS = 256;

/**
 * Request bodies held at once, across connections: 256 connections each uploading most of a
 * megabyte took a relay from 105 to 335 MB, and kept it there.
 */
export const MAX_BUFFERED_BODY_BYTES = 32 * 1024 * 1024;

export async function serveApi(
  handle: Handle,
  options: {
    port: number;
    host: string;
    log?: Log | undefined;
    requestTimeoutMs?: number;
    maxConnections?: number;
    maxBufferedBodyBytes?: number;
  },
): Promise<{ url: string; close(): Promise<void> }> {
  // A body trickled a byte a second held its connection and up to 1 MiB of buffer for that long.
  const requestTimeout = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  const timeouts = {
    requestTimeout,
    headersTimeout: Math.min(requestTimeout, 15_000),
    // How often node looks for requests past those (30 s by default, which would double them).
    connectionsCheckingInterval: Math.min(requestTimeout / 4, 5_000),
  };
  const budget: BodyBudget = { maxBytes: options.maxBufferedBodyBytes ?? MAX_BUFFERED_BODY_BYTES, usedBytes: 0 };
  const lastLoggedMs = new Map<string, number>();
  const slots = new ConnectionSlots(options.maxConnections ?? MAX_CONNECTIONS, (what) => {
    // Each outcome once a minute at most: a flood of connections must not become a flood of log lines.
    const nowMs = performance.now();
    if (nowMs - (lastLoggedMs.get(what) ?? Number.NEGATIVE_INFINITY) < 60_000) return;
    lastLoggedMs.set(what, nowMs);
    options.log?.({
      level: "warn",
      msg: `api at its connection limit: ${what}`,
      maxConnections: options.maxConnections ?? MAX_CONNECTIONS,
    });
  });
  const respond = (req: IncomingMessage, res: ServerResponse, expectsContinue: boolean) => {
    const release = slots.busy(req.socket, res);
    answer(handle, req, res, { expectsContinue, budget })
      .catch((error: unknown) => {
        // The handler answers every failure it knows; one that gets here is a defect, and it must
        // end this request, not the process and every delivery in it.
        options.log?.({ level: "error", msg: "api request failed", path: req.url, error: coerceError(error).stack });
        if (res.headersSent) return void res.destroy();
        const failed = json(500, {
          error: { code: "internal", message: "the relay failed to handle this request", details: [] },
        });
        res.writeHead(failed.status, failed.headers).end(failed.body);
      })
      .finally(release);
  };
  const server = createServer(timeouts, (req, res) => respond(req, res, false));
  // Node would send `100 Continue` to every request that asks: a refused one is answered instead.
  server.on("checkContinue", (req, res) => respond(req, res, true));
  server.on("connection", (socket: Socket) => slots.admit(socket));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port, address } = server.address() as AddressInfo;
  const host = address.includes(":") ? `[${address}]` : address;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}
