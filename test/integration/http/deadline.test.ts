import { once } from "node:events";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Pool } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { withDeadline } from "../../../lib/deadline.js";

// A real undici pool against loopback servers that answer too slowly for the deadline but never
// slowly enough for the pool's own per-phase timeouts (10 s): only the deadline can end these.
const PHASE_TIMEOUT_MS = 10_000;
const DEADLINE_MS = 200;

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function serve(handle: (res: ServerResponse) => void): Promise<{ pool: Pool; closed: Promise<void> }> {
  let closedResolve: () => void = () => {};
  const closed = new Promise<void>((resolve) => {
    closedResolve = resolve;
  });
  const server: Server = createServer((req, res) => {
    req.resume();
    res.on("close", () => closedResolve());
    handle(res);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  const pool = new Pool(`http://127.0.0.1:${port}`, {
    headersTimeout: PHASE_TIMEOUT_MS,
    bodyTimeout: PHASE_TIMEOUT_MS,
  });
  cleanups.push(async () => {
    await pool.destroy();
    server.closeAllConnections();
    server.close();
  });
  return { pool, closed };
}

async function timedRequest(pool: Pool): Promise<{ error: unknown; ms: number }> {
  const started = performance.now();
  const error = await withDeadline(DEADLINE_MS, async (signal) => {
    const response = await pool.request({ path: "/", method: "GET", signal });
    return response.body.text();
  }).then(
    () => undefined,
    (e: unknown) => e,
  );
  return { error, ms: performance.now() - started };
}

describe("withDeadline with undici", () => {
  it("ends a request whose answer never starts", async () => {
    const { pool, closed } = await serve(() => {});
    const { error, ms } = await timedRequest(pool);
    expect((error as Error).name).toBe("TimeoutError");
    expect(ms).toBeGreaterThanOrEqual(DEADLINE_MS - 20);
    expect(ms).toBeLessThan(PHASE_TIMEOUT_MS / 2);
    await closed; // the connection was given up, not left waiting
  });

  it("bounds the whole exchange: a body that trickles in forever is cut off", async () => {
    let interval: NodeJS.Timeout | undefined;
    const { pool, closed } = await serve((res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("a");
      // Each chunk comes well inside the pool's body timeout, so only the deadline ends this.
      interval = setInterval(() => res.write("a"), 20);
      res.on("close", () => clearInterval(interval));
    });
    const { error, ms } = await timedRequest(pool);
    expect((error as Error).name).toBe("TimeoutError");
    expect(ms).toBeLessThan(PHASE_TIMEOUT_MS / 2);
    await closed;
    clearInterval(interval);
  });

  it("lets an answer inside the deadline through, untouched", async () => {
    const { pool } = await serve((res) => res.end("hello"));
    const text = await withDeadline(DEADLINE_MS * 10, async (signal) => {
      const response = await pool.request({ path: "/", method: "GET", signal });
      return response.body.text();
    });
    expect(text).toBe("hello");
  });
});
