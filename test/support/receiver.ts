import type { IncomingHttpHeaders } from "node:http";
import { Webhook } from "standardwebhooks";
import { onTestFinished } from "vitest";
import { listenOnLoopback } from "../../dev/loopback.js";

export interface Received {
  /** The request target as sent (path and query). */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** Parsed body when the signature verified with the standardwebhooks library; undefined otherwise. */
  readonly verified: { type: string; data: Record<string, unknown> } | undefined;
  readonly verifyError: string | undefined;
  readonly atMs: number;
}

export interface Reply {
  readonly status?: number;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly delayMs?: number;
  /** Cut the connection instead of answering. */
  readonly destroy?: boolean;
  /**
   * Never finish the answer: "silent" sends nothing, "mid-body" the status line, headers and part
   * of the body. The request ends only when the client gives up on it (or the receiver is closed).
   */
  readonly hang?: "silent" | "mid-body";
}

/** Requests the receiver left hanging: how many are open now, at most at once, and the longest held. */
export interface Hangs {
  open: number;
  peak: number;
  total: number;
  longestMs: number;
}

/**
 * A webhook receiver on 127.0.0.1 that verifies every request with the `standardwebhooks` package
 * (a real peer), as of `now()`: the relay's clock, which in tests is fake.
 */
export async function startReceiver(options: {
  /** The secret(s) the receiver holds; it accepts a request that verifies with any of them. */
  secret: () => string | readonly string[];
  now: () => number;
  reply?: (request: Received, index: number) => Reply;
}) {
  const received: Received[] = [];
  const hangs: Hangs = { open: 0, peak: 0, total: 0, longestMs: 0 };
  const loopback = await listenOnLoopback(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    let verified: Received["verified"];
    let verifyError: string | undefined;
    const held = options.secret();
    const secrets = typeof held === "string" ? [held] : held;
    if (secrets.length === 0) verifyError = "the receiver holds no secret";
    // Verify as of the relay's clock (fake in most tests); read it before replacing Date.now.
    const at = options.now();
    const realNow = Date.now;
    Date.now = () => at;
    try {
      for (const secret of secrets) {
        try {
          verified = new Webhook(secret).verify(body, req.headers as Record<string, string>) as Received["verified"];
          verifyError = undefined;
          break;
        } catch (error) {
          verifyError = (error as Error).message;
        }
      }
    } finally {
      Date.now = realNow;
    }
    const request: Received = {
      path: req.url ?? "",
      headers: req.headers,
      body,
      verified,
      verifyError,
      atMs: options.now(),
    };
    received.push(request);
    const reply = options.reply?.(request, received.length - 1) ?? {};
    if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs));
    if (reply.destroy) return void req.socket.destroy();
    if (res.destroyed) return;
    if (reply.hang) {
      hangs.open++;
      hangs.total++;
      hangs.peak = Math.max(hangs.peak, hangs.open);
      // Real time, not `now()`: what is measured is how long the client's own timer let it hang.
      const since = performance.now();
      if (reply.hang === "mid-body") {
        res.writeHead(reply.status ?? 200, { "content-type": "text/plain", ...reply.headers });
        res.write(reply.body ?? "o");
      }
      await new Promise((resolve) => res.once("close", resolve));
      hangs.open--;
      hangs.longestMs = Math.max(hangs.longestMs, performance.now() - since);
      return;
    }
    res.writeHead(reply.status ?? 200, { "content-type": "text/plain", ...reply.headers });
    res.end(reply.body ?? "ok");
  });
  onTestFinished(() => loopback.close());
  return { url: `${loopback.url}/hook`, received, hangs: hangs as Readonly<Hangs> };
}
