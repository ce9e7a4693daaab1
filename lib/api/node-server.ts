/** The API on node:http (`quanmiao-relay serve`, `npm start`). */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { coerceError } from "../errors.js";
import type { Log } from "../log.js";
import { type ApiResponse, errorResponse, HttpError, json, MAX_BODY_BYTES, tooLarge } from "./http.js";
import { parseQuery } from "./request-guards.js";
import type { Handle } from "./router.js";

/** The body, or whether it went past the limit; undefined when the client went away mid-upload. */
async function readBody(req: IncomingMessage): Promise<{ body: Buffer; over: boolean } | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      // Stop reading: the answer does not depend on the rest.
      if (size > MAX_BODY_BYTES) return { body: Buffer.alloc(0), over: true };
      chunks.push(chunk as Buffer);
    }
  } catch {
    return undefined;
  }
  return { body: Buffer.concat(chunks), over: false };
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

async function answer(handle: Handle, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const read = await readBody(req);
  if (read === undefined) {
    res.destroy();
    return;
  }
  const headers: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(", ") : v;
  const { path, search } = splitTarget(req.url ?? "/");
  let response: ApiResponse;
  try {
    response = read.over
      ? tooLarge()
      : await handle({ method: req.method ?? "GET", path, query: parseQuery(search), headers, body: read.body });
  } catch (error) {
    if (!(error instanceof HttpError)) throw error;
    response = errorResponse(error);
  }
  res.writeHead(response.status, { ...response.headers, ...(read.over ? { connection: "close" } : {}) });
  res.end(response.body);
}

/** The longest a client may take to send a whole request: node's default is 5 minutes. */
export const REQUEST_TIMEOUT_MS = 30_000;

export async function serveApi(
  handle: Handle,
  options: { port: number; host: string; log?: Log | undefined; requestTimeoutMs?: number },
): Promise<{ url: string; close(): Promise<void> }> {
  // A body trickled a byte a second held its connection and up to 1 MiB of buffer for that long.
  const requestTimeout = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  const timeouts = {
    requestTimeout,
    headersTimeout: Math.min(requestTimeout, 15_000),
    // How often node looks for requests past those (30 s by default, which would double them).
    connectionsCheckingInterval: Math.min(requestTimeout / 4, 5_000),
  };
  const server = createServer(timeouts, (req, res) => {
    answer(handle, req, res).catch((error: unknown) => {
      // The handler answers every failure it knows; one that gets here is a defect, and it must
      // end this request, not the process and every delivery in it.
      options.log?.({ level: "error", msg: "api request failed", path: req.url, error: coerceError(error).stack });
      if (res.headersSent) return void res.destroy();
      const failed = json(500, {
        error: { code: "internal", message: "the relay failed to handle this request", details: [] },
      });
      res.writeHead(failed.status, failed.headers).end(failed.body);
    });
  });
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
