/** The API on node:http (`quanmiao-relay serve`, `npm start`). */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { type ApiRequest, type ApiResponse, errorResponse, HttpError, MAX_BODY_BYTES, tooLarge } from "./http.js";
import { parseQuery } from "./request-guards.js";
import type { Handle } from "./router.js";

export async function serveApi(
  handle: Handle,
  options: { port: number; host: string },
): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY_BYTES) {
        over = true;
        break; // stop reading: the answer does not depend on the rest
      }
      chunks.push(chunk as Buffer);
    }
    const url = new URL(req.url ?? "/", "http://relay.invalid");
    const headers: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(", ") : v;
    let response: ApiResponse;
    try {
      const request: ApiRequest = {
        method: req.method ?? "GET",
        path: (req.url ?? "/").split("?")[0] ?? "/",
        query: parseQuery(url.search.slice(1)),
        headers,
        body: Buffer.concat(chunks),
      };
      response = over ? tooLarge() : await handle(request);
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      response = errorResponse(error);
    }
    res.writeHead(response.status, { ...response.headers, ...(over ? { connection: "close" } : {}) });
    res.end(response.body);
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
