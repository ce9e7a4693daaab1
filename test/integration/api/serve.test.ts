import { spawn } from "node:child_process";
import { once } from "node:events";
import { chmodSync, mkdirSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { describe, expect, it, onTestFinished } from "vitest";
import { rawCall, TOKEN } from "../../support/api.js";
import { tempDir } from "../../support/relay.js";

const CLI = new URL("../../../bin/quanmiao-relay.js", import.meta.url).pathname;

/** Writes `bytes` to the server and gives what came back by the time it closed (or 5 s passed). */
async function rawExchange(url: string, bytes: string, { hangUp = false } = {}): Promise<string> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  let got = "";
  socket.on("data", (d) => {
    got += d;
  });
  socket.on("error", () => {});
  await once(socket, "connect");
  socket.write(bytes);
  if (hangUp) socket.destroy();
  else await Promise.race([once(socket, "close"), new Promise((r) => setTimeout(r, 5_000))]);
  socket.destroy();
  return got;
}

function serve(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [CLI, "serve", ...args], {
    env: { PATH: process.env.PATH ?? "", RELAY_STORE: `sqlite:${join(tempDir(), "relay.db")}`, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  onTestFinished(() => {
    child.kill("SIGKILL");
  });
  let err = "";
  child.stderr.on("data", (d) => {
    err += d;
  });
  return { child, err: () => err };
}

describe("quanmiao-relay serve", () => {
  it("warns at start, on stderr, when others can read the store's folder", async () => {
    const folder = join(tempDir(), "shared");
    mkdirSync(folder);
    chmodSync(folder, 0o755);
    const { child, err } = serve(["--port", "0", "--no-auth"], { RELAY_STORE: `sqlite:${join(folder, "relay.db")}` });
    await once(createInterface({ input: child.stdout }), "line");
    // Written just before it starts waiting for Ctrl-C: a SIGINT before then would kill it outright.
    for (let i = 0; i < 100 && !err().includes("Ctrl-C stops it"); i++) await new Promise((r) => setTimeout(r, 20));
    const warning = err()
      .split("\n")
      .filter((line) => line.includes("readable by other users"))
      .map((line) => JSON.parse(line));
    expect(warning).toEqual([expect.objectContaining({ level: "warn", files: [`${folder} (0755)`] })]);
    child.kill("SIGINT");
    expect((await once(child, "exit"))[0]).toBe(0);
  });

  it("prints its URL first (--port 0 picks a port) and requires the token", async () => {
    const { child } = serve(["--port", "0"], { RELAY_API_TOKEN: `other-token-0123456789,${TOKEN}` });
    const [url] = (await once(createInterface({ input: child.stdout }), "line")) as [string];
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await fetch(`${url}/v1/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/v1/webhooks`)).status).toBe(401);
    expect((await fetch(`${url}/v1/webhooks`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    child.kill("SIGINT");
    expect((await once(child, "exit"))[0]).toBe(0);
  });

  it("refuses to start without a token, unless on loopback with --no-auth", async () => {
    const none = serve(["--port", "0"], {});
    expect((await once(none.child, "exit"))[0]).toBe(3);
    expect(none.err()).toContain("RELAY_API_TOKEN: is not set");
    const exposed = serve(["--port", "0", "--host", "0.0.0.0", "--no-auth"], {});
    expect((await once(exposed.child, "exit"))[0]).toBe(3);
    const weak = serve(["--port", "0"], { RELAY_API_TOKEN: "short" });
    expect((await once(weak.child, "exit"))[0]).toBe(3);
    expect(weak.err()).not.toContain("short");
    const local = serve(["--port", "0", "--no-auth"], {});
    const [url] = (await once(createInterface({ input: local.child.stdout }), "line")) as [string];
    expect((await fetch(`${url}/v1/webhooks`)).status).toBe(200);
  });

  it("without a token answers only a loopback Host (DNS rebinding), page and health check included", async () => {
    const local = serve(["--port", "0", "--no-auth"], {});
    const [url] = (await once(createInterface({ input: local.child.stdout }), "line")) as [string];
    const port = new URL(url).port;
    for (const path of ["/v1/webhooks", "/console", "/healthz", "/metrics"]) {
      const refused = await rawCall(url, { path, headers: { host: `rebind.example:${port}` } });
      expect(refused.status, path).toBe(421);
      expect(refused.json.error?.code).toBe("misdirected_request");
      expect((await rawCall(url, { path, headers: { host: `localhost:${port}` } })).status, path).toBe(200);
    }
    const crossSite = await rawCall(url, {
      method: "POST",
      path: "/v1/webhooks",
      headers: { origin: "https://evil.example", "content-type": "text/plain" },
      body: JSON.stringify({ url: "http://127.0.0.1:9/h" }),
    });
    expect(crossSite.status).toBe(403);
  });

  it("no request ends the process: a target no URL parser takes, a client gone mid-upload", async () => {
    const { child, err } = serve(["--port", "0", "--no-auth"], {});
    const [url] = (await once(createInterface({ input: child.stdout }), "line")) as [string];
    const host = `Host: ${new URL(url).host}\r\n`;
    // Browsers send `//[` as it is (an <img src> on any page would do it).
    const odd = await rawExchange(url, `GET //[ HTTP/1.1\r\n${host}Connection: close\r\n\r\n`);
    expect(odd).toMatch(/^HTTP\/1\.1 404 /);
    const oddQuery = await rawExchange(url, `GET /v1/webhooks?//[ HTTP/1.1\r\n${host}Connection: close\r\n\r\n`);
    expect(oddQuery).toMatch(/^HTTP\/1\.1 400 /);
    expect(oddQuery).toContain('Unrecognized key: \\"//[\\"');
    // A fragment is no part of the query, as a URL parser reads it.
    const fragment = await rawExchange(url, `GET /v1/tasks?limit=5#//[ HTTP/1.1\r\n${host}Connection: close\r\n\r\n`);
    expect(fragment).toMatch(/^HTTP\/1\.1 200 /);
    for (let i = 0; i < 3; i++) {
      const head = `POST /v1/webhooks HTTP/1.1\r\n${host}Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n`;
      await rawExchange(url, `${head}{"url": "http://127.0.0.1:9/h", "description": "`, { hangUp: true });
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(child.exitCode).toBeNull();
    expect((await fetch(`${url}/v1/healthz`)).status).toBe(200);
    const hooks = (await (await fetch(`${url}/v1/webhooks`)).json()) as { items: unknown[] };
    expect(hooks.items).toEqual([]);
    expect(err()).not.toContain("api request failed");
  });
});
