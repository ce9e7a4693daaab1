import { createServer, type Server } from "node:http";
import { type AddressInfo, createServer as createTcpServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { EXCERPT_BYTES, WebhookSender } from "../../../lib/delivery/send.js";

// The answer's excerpt: what a delivery row keeps of a receiver's answer, read from the stream.
let server: Server | undefined;
let sender: WebhookSender | undefined;
afterEach(async () => {
  await sender?.close();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = sender = undefined;
});

async function answering(status: number, body: string | Buffer): Promise<URL> {
  server = createServer((req, res) => {
    req.resume();
    req.on("end", () => res.writeHead(status).end(body));
  });
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`);
}

async function post(url: URL, timeoutMs = 5_000) {
  await sender?.close();
  sender = new WebhookSender({ timeoutMs });
  const target = { url, address: { address: "127.0.0.1", family: 4 as const } };
  return sender.send({ target, headers: { "content-type": "application/json" }, body: "{}" }, Date.now);
}

describe("a webhook POST's answer", () => {
  it("says in its own words that a status below 100 or an unasked-for 101 is not HTTP, not in undici's", async () => {
    for (const [line, check] of [
      ["HTTP/1.1 099 Low", "statusCode >= 100"],
      ["HTTP/1.1 000 None", "statusCode >= 100"],
      ["HTTP/1.1 101 Switching Protocols", "upgrade"],
    ] as const) {
      const raw = createTcpServer((socket) =>
        socket.once("data", () => socket.end(`${line}\r\ncontent-length: 2\r\n\r\nok`)),
      );
      await new Promise<void>((resolve) => raw.listen(0, "127.0.0.1", resolve));
      const port = (raw.address() as AddressInfo).port;
      try {
        const result = await post(new URL(`http://127.0.0.1:${port}/hook`));
        expect(result).toMatchObject({ statusCode: undefined, failure: "other", connectionError: false });
        expect(result.error).toBe(
          `the receiver's answer is not valid HTTP/1.1 (a status below 100, or a 101 switching protocols): undici's check ${check} failed`,
        );
      } finally {
        await new Promise((resolve) => raw.close(resolve));
      }
    }
  });

  it("keeps an empty answer as empty and a short one whole", async () => {
    expect(await post(await answering(204, ""))).toMatchObject({ statusCode: 204, excerpt: "" });
    await new Promise((resolve) => server?.close(resolve));
    expect(await post(await answering(500, "boom"))).toMatchObject({ statusCode: 500, excerpt: "boom" });
  });

  it("keeps at most 4 KiB of a large answer, cut on a character boundary, and stops reading a huge one", async () => {
    // Two-byte characters across a 64 KiB answer and more: the cut falls inside one of them.
    const result = await post(await answering(500, `x${"é".repeat(200_000)}`));
    expect(result.statusCode).toBe(500);
    const excerpt = result.excerpt ?? "";
    expect(Buffer.byteLength(excerpt)).toBeLessThanOrEqual(EXCERPT_BYTES);
    expect(Buffer.byteLength(excerpt)).toBeGreaterThan(EXCERPT_BYTES - 2);
    expect(excerpt).toBe(`x${"é".repeat((Buffer.byteLength(excerpt) - 1) / 2)}`);
  });

  it("takes the status line for the answer when the body is cut or trickled after it", async () => {
    let trickle: NodeJS.Timeout | undefined;
    server = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        res.writeHead(req.url === "/cut" || req.url === "/cut-500" ? (req.url === "/cut" ? 200 : 500) : 202, {
          "content-length": "100",
        });
        res.write("partial");
        if (req.url?.startsWith("/cut")) setTimeout(() => res.socket?.destroy(), 20);
        else trickle = setInterval(() => res.write("."), 50);
      });
    });
    await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      expect(await post(new URL(`${base}/cut`))).toMatchObject({
        statusCode: 200,
        excerpt: "partial",
        error: undefined,
      });
      expect(await post(new URL(`${base}/cut-500`))).toMatchObject({ statusCode: 500, connectionError: false });
      // Past the deadline the body is given up on, not the answer.
      const slow = await post(new URL(`${base}/trickle`), 300);
      expect(slow).toMatchObject({ statusCode: 202, error: undefined });
      expect(slow.excerpt).toMatch(/^partial\.+$/);
    } finally {
      clearInterval(trickle);
      server.closeAllConnections();
    }
  });
});

describe("the addresses a sender keeps per host", () => {
  it("keeps the most recently sent-to hosts only, and still connects each send to its checked address", async () => {
    const url = await answering(204, "");
    sender = new WebhookSender({ timeoutMs: 5_000, maxPinnedHosts: 2 });
    // Names, not IP literals, so that the connection goes through the sender's lookup (never DNS).
    const to = (host: string) =>
      sender?.send(
        {
          target: { url: new URL(`http://${host}:${url.port}/hook`), address: { address: "127.0.0.1", family: 4 } },
          headers: { "content-type": "application/json" },
          body: "{}",
        },
        Date.now,
      );
    for (const host of ["a.test", "b.test", "c.test", "a.test", "d.test"])
      expect(await to(host)).toMatchObject({ statusCode: 204, error: undefined });
    expect(sender.pinnedHosts).toBe(2);
  });
});
