/** The node:http server's own bounds, with a handler that answers everything at once. */
import { once } from "node:events";
import { connect } from "node:net";
import { describe, expect, it, onTestFinished, vi } from "vitest";
import { z } from "zod";
import { json } from "../../../lib/api/http.js";
import { serveApi, splitTarget } from "../../../lib/api/node-server.js";
import { createRouter, route } from "../../../lib/api/router.js";

describe("the API's node:http server", () => {
  it("ends a request whose body trickles past the request timeout with 408, freeing its connection", async () => {
    const server = await serveApi(async () => json(200, {}), { port: 0, host: "127.0.0.1", requestTimeoutMs: 400 });
    onTestFinished(() => server.close());
    const socket = connect(Number(new URL(server.url).port), "127.0.0.1");
    let got = "";
    socket.on("data", (d) => {
      got += d;
    });
    await once(socket, "connect");
    socket.write("POST /v1/webhooks HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n{");
    const trickle = setInterval(() => socket.write(" "), 50);
    const started = performance.now();
    await once(socket, "close");
    clearInterval(trickle);
    expect(got).toMatch(/^HTTP\/1\.1 408 /);
    // Found within a check interval (a quarter of the timeout) of it, not node's 30 s.
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it("splits a request target into path and query by hand, as a URL parser would, without throwing", () => {
    expect(splitTarget("//[")).toEqual({ path: "//[", search: "" });
    expect(splitTarget("/v1/tasks?limit=5#frag?x")).toEqual({ path: "/v1/tasks", search: "limit=5" });
    expect(splitTarget("/a?")).toEqual({ path: "/a", search: "" });
    expect(splitTarget("/a#b")).toEqual({ path: "/a#b", search: "" });
  });
});

/** A raw client: what a browser-less attacker or a careful curl sends, byte for byte. */
async function rawClient(url: string) {
  const socket = connect(Number(new URL(url).port), "127.0.0.1");
  onTestFinished(() => void socket.destroy());
  let got = "";
  let closed = false;
  socket.on("data", (d) => {
    got += d;
  });
  socket.on("close", () => {
    closed = true;
  });
  socket.on("error", () => {});
  await once(socket, "connect");
  return {
    socket,
    get text() {
      return got;
    },
    get closed() {
      return closed;
    },
    /** Resolves once the answer so far matches; rejects after `ms` with what arrived. */
    until: (pattern: RegExp, ms = 2_000) =>
      new Promise<string>((resolve, reject) => {
        const started = performance.now();
        const check = setInterval(() => {
          if (pattern.test(got)) {
            clearInterval(check);
            resolve(got);
          } else if (performance.now() - started > ms || closed) {
            clearInterval(check);
            reject(new Error(`no ${pattern} within ${ms} ms; got ${JSON.stringify(got)}`));
          }
        }, 10);
      }),
  };
}

const TOKEN = "t-node-server-test";
/** The headers of an admitted JSON request. */
const AUTHED_JSON = [`Authorization: Bearer ${TOKEN}`, "Content-Type: application/json"];
/** The end of a chunked answer (node chunks every answer without a Content-Length). */
const ANSWERED = /\r\n0\r\n\r\n$/;

/** The real router with one authenticated JSON route, which echoes how many bytes it was sent. */
async function guardedServer(
  extra: { maxConnections?: number; maxBufferedBodyBytes?: number; log?: (e: Record<string, unknown>) => void } = {},
) {
  const echo = route({
    method: "POST",
    path: "/v1/echo",
    summary: "echo",
    auth: true,
    body: z.unknown(),
    responses: { 200: "the size" },
    handler: async ({ body }) => json(200, { size: JSON.stringify(body).length }),
  });
  // A public answer large enough that a client not reading it fills the socket's buffers.
  const big = route({
    method: "GET",
    path: "/v1/big",
    summary: "big",
    auth: false,
    responses: { 200: "200 KB" },
    handler: async () => json(200, { blob: "x".repeat(200_000) }),
  });
  const handle = createRouter([echo, big], { tokens: [TOKEN] });
  const server = await serveApi(handle, { port: 0, host: "127.0.0.1", requestTimeoutMs: 10_000, ...extra });
  onTestFinished(() => server.close());
  return server;
}

const post = (headers: string[]) => `POST /v1/echo HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers.join("\r\n")}\r\n\r\n`;

describe("the API's node:http server answers what the head decides before reading the body", () => {
  it("refuses a request without a valid token at once, with no byte of its declared megabyte sent", async () => {
    const server = await guardedServer();
    const client = await rawClient(server.url);
    client.socket.write(post(["Content-Type: application/json", "Content-Length: 1000000"]));
    // Read body first, it waited here for the megabyte (or the request timeout) before saying 401.
    expect(await client.until(ANSWERED)).toMatch(/^HTTP\/1\.1 401 /);
  });

  it("answers a refused `Expect: 100-continue` instead of asking for the body, and asks when admitted", async () => {
    const server = await guardedServer();
    const refused = await rawClient(server.url);
    refused.socket.write(post(["Content-Type: application/json", "Content-Length: 2", "Expect: 100-continue"]));
    const answer = await refused.until(ANSWERED);
    expect(answer).toMatch(/^HTTP\/1\.1 401 /);
    expect(answer).not.toContain("100 Continue");

    const admitted = await rawClient(server.url);
    admitted.socket.write(post([...AUTHED_JSON, "Content-Length: 2", "Expect: 100-continue"]));
    expect(await admitted.until(/100 Continue\r\n\r\n/)).toMatch(/^HTTP\/1\.1 100 Continue/);
    admitted.socket.write("{}");
    expect(await admitted.until(ANSWERED)).toMatch(/HTTP\/1\.1 200 /);
  });

  it("refuses a declared body over 1 MiB at once, and a form body to a JSON route, before either is sent", async () => {
    const server = await guardedServer();
    const big = await rawClient(server.url);
    big.socket.write(post([...AUTHED_JSON, `Content-Length: ${2 * 1024 * 1024}`]));
    const tooLarge = await big.until(ANSWERED);
    expect(tooLarge).toMatch(/^HTTP\/1\.1 413 /);
    expect(tooLarge.toLowerCase()).toContain("connection: close");

    const form = await rawClient(server.url);
    form.socket.write(
      post([
        `Authorization: Bearer ${TOKEN}`,
        "Content-Type: application/x-www-form-urlencoded",
        "Content-Length: 500000",
      ]),
    );
    expect(await form.until(ANSWERED)).toMatch(/^HTTP\/1\.1 415 /);
  });

  it("keeps the connection after an early refusal: the unread body is discarded and the next request answered", async () => {
    const server = await guardedServer();
    const client = await rawClient(server.url);
    client.socket.write(`${post(["Content-Type: application/json", "Content-Length: 9"])}{"a":"b"}`);
    await client.until(ANSWERED);
    client.socket.write(`${post([...AUTHED_JSON, "Content-Length: 9"])}{"a":"b"}`);
    const both = await client.until(/\{"size":9\}\r\n0\r\n\r\n$/);
    expect(both.match(/^HTTP\/1\.1 \d+/gm)).toEqual(["HTTP/1.1 401", "HTTP/1.1 200"]);
    expect(client.closed).toBe(false);
  });

  it("past its connection limit closes the longest idle one for a new one, and refuses a new one only when all are busy", async () => {
    const logged: Array<Record<string, unknown>> = [];
    const server = await guardedServer({ maxConnections: 3, log: (e) => logged.push(e) });
    // Three idle connections (what a flood needing no token opens), the oldest first.
    const idle = [await rawClient(server.url), await rawClient(server.url), await rawClient(server.url)];
    // The token holder still gets in: its connection takes the longest idle one's place.
    const client = await rawClient(server.url);
    client.socket.write(`${post([...AUTHED_JSON, "Content-Length: 2"])}{}`);
    expect(await client.until(ANSWERED)).toMatch(/^HTTP\/1\.1 200 /);
    await vi.waitFor(() => expect(idle.map((c) => c.closed)).toEqual([true, false, false]), { timeout: 2_000 });
    expect(logged).toEqual([
      { level: "warn", msg: "api at its connection limit: closed the longest idle", maxConnections: 3 },
    ]);
    // Requests in progress (bodies still coming) are never closed for a newcomer: it is refused.
    const uploading = [idle[1], idle[2], client];
    for (const c of uploading) c?.socket.write(`${post([...AUTHED_JSON, "Content-Length: 11"])}{"a":`);
    await new Promise((r) => setTimeout(r, 100));
    const refused = await rawClient(server.url);
    await vi.waitFor(() => expect(refused.closed).toBe(true), { timeout: 2_000 });
    for (const c of uploading) c?.socket.write('"xyz"}');
    for (const c of uploading) expect(await c?.until(/\{"size":11\}\r\n0\r\n\r\n$/)).toContain("200 OK");
  });

  it("a client that pipelines requests and never reads the answers does not hold its slot: its answers are handed over", async () => {
    const server = await guardedServer({ maxConnections: 1 });
    const stalled = connect(Number(new URL(server.url).port), "127.0.0.1");
    stalled.on("error", () => {});
    onTestFinished(() => void stalled.destroy());
    await once(stalled, "connect");
    stalled.pause(); // never reads: the answers (200 × 200 KB) back up in the socket's buffers
    stalled.write("GET /v1/big HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".repeat(200));
    await new Promise((r) => setTimeout(r, 300));
    // The one slot is the stalled connection's, its answers stuck in its buffers: a client still gets in.
    const client = await rawClient(server.url);
    client.socket.write(`${post([...AUTHED_JSON, "Content-Length: 2"])}{}`);
    expect(await client.until(ANSWERED)).toMatch(/^HTTP\/1\.1 200 /);
  });

  it("holds at most its budget of request bodies at once: past it, 503 busy with Retry-After, and the budget comes back", async () => {
    const server = await guardedServer({ maxBufferedBodyBytes: 100 });
    const firstBody = `{"a":"${"x".repeat(82)}"}`; // 90 bytes, of which 60 are sent first
    const secondBody = `{"b":"${"y".repeat(22)}"}`; // 30 bytes: 60 + 30 is under 100, 90 + 30 is not
    const first = await rawClient(server.url);
    first.socket.write(`${post([...AUTHED_JSON, `Content-Length: ${firstBody.length}`])}${firstBody.slice(0, 60)}`);
    await new Promise((r) => setTimeout(r, 100));
    const fits = await rawClient(server.url);
    fits.socket.write(`${post([...AUTHED_JSON, `Content-Length: ${secondBody.length}`])}${secondBody}`);
    expect(await fits.until(ANSWERED)).toMatch(/^HTTP\/1\.1 200 /);
    // Bodies answered are given back at once; one still arriving is held: now 60 + 30 bytes of the first.
    first.socket.write(firstBody.slice(60, 89));
    await new Promise((r) => setTimeout(r, 100));
    const second = await rawClient(server.url);
    second.socket.write(`${post([...AUTHED_JSON, `Content-Length: ${secondBody.length}`])}${secondBody}`);
    const refused = await second.until(ANSWERED);
    expect(refused).toMatch(/^HTTP\/1\.1 503 /);
    expect(refused.toLowerCase()).toContain("retry-after: 1");
    expect(refused).toContain('"code":"busy"');
    first.socket.write(firstBody.slice(89));
    expect(await first.until(ANSWERED)).toMatch(/^HTTP\/1\.1 200 /);
    // The first body's bytes were given back: the same upload now fits.
    const again = await rawClient(server.url);
    again.socket.write(`${post([...AUTHED_JSON, `Content-Length: ${secondBody.length}`])}${secondBody}`);
    expect(await again.until(ANSWERED)).toMatch(/^HTTP\/1\.1 200 /);
  });
});
