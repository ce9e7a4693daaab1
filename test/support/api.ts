import { request } from "node:http";
import { join } from "node:path";
import { onTestFinished } from "vitest";
import { SIM_CREDENTIAL, startSimulator } from "../../dev/quanmiao-simulator/server.js";
import { createHandler } from "../../functions/api/index.js";
import { createApi } from "../../lib/api/app.js";
import { serveApi } from "../../lib/api/node-server.js";
import { loadConfig } from "../../lib/config.js";
import type { WebhookSender } from "../../lib/delivery/send.js";
import { staticCredentials } from "../../lib/quanmiao/credentials.js";
import { openRelay } from "../../lib/relay.js";
import { startReceiver } from "./receiver.js";
import { tempDir } from "./relay.js";

export const TOKEN = "test-token-0123456789abcdef";

/** A sender that answers 204 at once and keeps what it was asked to send: no request leaves. */
export function answeringSender(): { sender: WebhookSender; sent: unknown[] } {
  const sent: unknown[] = [];
  const sender = {
    send: async (attempt: unknown) => {
      sent.push(attempt);
      return {
        statusCode: 204,
        error: undefined,
        connectionError: false,
        excerpt: "",
        retryAfterMs: undefined,
        durationMs: 0,
      };
    },
  } as unknown as WebhookSender;
  return { sender, sent };
}

export interface Call {
  readonly method: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  /** An object is sent as JSON; a string or Buffer as is. */
  readonly body?: unknown;
  readonly auth?: boolean;
}

export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly text: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON the API answered
  readonly json: any;
}

function encode(call: Call): { headers: Record<string, string>; body: Buffer | undefined } {
  const headers: Record<string, string> = {
    ...(call.auth === false ? {} : { authorization: `Bearer ${TOKEN}` }),
    ...call.headers,
  };
  if (call.body === undefined) return { headers, body: undefined };
  if (typeof call.body === "string" || Buffer.isBuffer(call.body)) return { headers, body: Buffer.from(call.body) };
  return { headers: { "content-type": "application/json", ...headers }, body: Buffer.from(JSON.stringify(call.body)) };
}

function parse(status: number, headers: Record<string, string>, text: string): Answer {
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status, headers, text, json: parsed };
}

/**
 * The API twice over one SQLite file: the node:http server (`serve`) and the FC HTTP function
 * (functions/api/index.ts, fed FC-shaped events). `call(via, …)` goes through either.
 */
export async function apiHarness(env: Record<string, string> = {}) {
  const sim = await startSimulator({ runMs: 0 });
  const dir = tempDir();
  const fullEnv = {
    RELAY_STORE: `sqlite:${join(dir, "relay.db")}`,
    QUANMIAO_ENDPOINT: sim.url,
    RELAY_ALLOW_PRIVATE_TARGETS: "true",
    RELAY_API_TOKEN: TOKEN,
    RELAY_DELIVERY_TIMEOUT: "2s",
    ...env,
  };
  const relay = await openRelay({
    env: fullEnv,
    config: loadConfig(fullEnv),
    credentials: staticCredentials(SIM_CREDENTIAL),
  });
  const server = await serveApi(createApi(relay, { tokens: relay.config.api.tokens }), {
    port: 0,
    host: "127.0.0.1",
  });
  const fc = { handler: createHandler({ ...process.env, ...fullEnv }) };
  onTestFinished(async () => {
    await server.close();
    await relay.close();
    await sim.close();
  });

  async function call(via: "node" | "fc", c: Call): Promise<Answer> {
    const { headers, body } = encode(c);
    if (via === "node") {
      const res = await fetch(`${server.url}${c.path}`, {
        method: c.method,
        headers,
        ...(body ? { body: new Uint8Array(body) } : {}),
      });
      return parse(res.status, Object.fromEntries(res.headers), await res.text());
    }
    const [rawPath = "/", search = ""] = c.path.split("?");
    const event = {
      version: "v1",
      rawPath,
      headers,
      queryParameters: Object.fromEntries(new URLSearchParams(search)),
      body: body ? body.toString("base64") : "",
      isBase64Encoded: true,
      requestContext: {
        http: { method: c.method, path: rawPath, protocol: "HTTP/1.1", sourceIp: "127.0.0.1" },
        requestId: "r",
      },
    };
    const res = await fc.handler(Buffer.from(JSON.stringify(event)), {
      requestId: "r",
      credentials: { ...SIM_CREDENTIAL },
    });
    return parse(res.statusCode, res.headers, res.body);
  }

  return { sim, relay, call, server };
}

/**
 * A signature-verifying receiver subscribed through the API (answering what `status()` says at
 * the time), and a task of `workspaceId` registered through the API and finished by one run.
 */
export async function subscribeAndFinishTask(
  h: Awaited<ReturnType<typeof apiHarness>>,
  workspaceId: string,
  status: () => number,
) {
  let secret = "";
  const rx = await startReceiver({ secret: () => secret, now: () => Date.now(), reply: () => ({ status: status() }) });
  const webhook = await h.call("node", { method: "POST", path: "/v1/webhooks", body: { url: rx.url } });
  secret = webhook.json.secret;
  const task = h.sim.addTask(workspaceId, { outcome: "SUCCESSED", runMs: 0 });
  await h.call("node", { method: "POST", path: "/v1/tasks", body: { workspaceId, taskId: task.taskId } });
  await h.relay.tick(5_000);
  return { rx, webhookId: String(webhook.json.id), taskId: task.taskId };
}

/** node:http rather than fetch, which will not send another Host. */
export function rawCall(
  base: string,
  c: { method?: string; path: string; headers?: Record<string, string>; body?: Buffer | string },
): Promise<{ status: number; json: { error?: { code: string; message: string } } & Record<string, unknown> }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, method: c.method ?? "GET", path: c.path, headers: c.headers ?? {} },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d) => {
          text += d;
        });
        res.on("end", () => {
          let json = {};
          try {
            json = text ? JSON.parse(text) : {};
          } catch {} // a page, say
          resolve({ status: res.statusCode ?? 0, json });
        });
      },
    );
    req.on("error", reject);
    req.end(c.body);
  });
}
