import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it, onTestFinished } from "vitest";
import { SIM_CREDENTIAL, startSimulator } from "../../../dev/quanmiao-simulator/server.js";
import { createApi } from "../../../lib/api/app.js";
import { fromFcEvent } from "../../../lib/api/fc.js";
import { systemClock } from "../../../lib/clock.js";
import { loadConfig } from "../../../lib/config.js";
import type { WebhookSender } from "../../../lib/delivery/send.js";
import { createQuanmiaoClient } from "../../../lib/quanmiao/client.js";
import { staticCredentials } from "../../../lib/quanmiao/credentials.js";
import { SqliteStore } from "../../../lib/store/sqlite.js";
import { TOKEN } from "../../support/api.js";
import { tempDir } from "../../support/relay.js";

const PATHS = [
  "/v1/tasks",
  "/v1/tasks/submit",
  "/v1/tasks/{a}/{b}",
  "/v1/webhooks",
  "/v1/webhooks/{a}",
  "/v1/webhooks/{a}/rotate-secret",
  "/v1/webhooks/{a}/test",
  "/v1/deliveries",
  "/v1/deliveries/{a}/replay",
  "/v1/healthz",
  "/v1/openapi.json",
  "/",
  "/v2/tasks",
];

const segment = fc.oneof(
  fc.constantFrom("llm-a", "wh_x", "msg_y", "%", "%2F", "%E0%A4%A", "..", "", "a%00b", "%F0%9F%98%80"),
  fc.string({ maxLength: 20 }).map(encodeURIComponent),
);
const path = fc
  .tuple(fc.constantFrom(...PATHS), segment, segment, fc.option(fc.string({ maxLength: 30 }), { nil: undefined }))
  .map(([p, a, b, extra]) => p.replace("{a}", a).replace("{b}", b) + (extra === undefined ? "" : `?${extra}`));

/** Webhook URLs whose host is an IPv4 address the guard refuses, written in IPv6 forms. */
const REFUSED_IPV6_URLS = [
  "http://[::127.0.0.1]/h",
  "http://[::7f00:1]/h",
  "http://[::ffff:0:127.0.0.1]/h",
  "http://[::ffff:0:7f00:1]/h",
  "http://[::ffff:127.0.0.1]/h",
  "https://[::ffff:a9fe:a9fe]/latest/meta-data",
  "http://[64:ff9b::10.0.0.1]/h",
  "http://[64:ff9b:1::a00:1]/h",
  "http://[2002:a00:1::1]/h",
  "http://[2001:0:1:2::80ff:fffe]/h",
  "http://[0:0:0:0:0:ffff:7f00:1]:8080/h",
];
const refusedUrl = fc.constantFrom(...REFUSED_IPV6_URLS);

const jsonValue = fc.jsonValue({ maxDepth: 3 });
const nearValid = fc.oneof(
  fc.record(
    {
      workspaceId: fc.string(),
      taskId: fc.string(),
      webhooks: fc.array(fc.oneof(fc.string(), refusedUrl), { maxLength: 3 }),
      metadata: jsonValue,
    },
    { requiredKeys: [] },
  ),
  fc.record({
    tasks: fc.array(fc.record({ workspaceId: fc.string({ minLength: 1 }), taskId: fc.string({ minLength: 1 }) }), {
      maxLength: 5,
    }),
  }),
  fc.record(
    {
      url: fc.oneof(fc.webUrl(), fc.string(), refusedUrl),
      events: fc.array(fc.string(), { maxLength: 3 }),
      headers: fc.dictionary(fc.string(), fc.string()),
    },
    { requiredKeys: [] },
  ),
  fc.record({ workspaceId: fc.string({ minLength: 1 }), request: fc.dictionary(fc.string(), jsonValue) }),
  fc.record(
    { enabled: fc.anything(), events: fc.anything(), url: fc.oneof(fc.anything(), refusedUrl) },
    {
      requiredKeys: [],
    },
  ),
);
const body = fc.oneof(
  nearValid.map((v) => ({ text: JSON.stringify(v), base64: false })),
  jsonValue.map((v) => ({ text: JSON.stringify(v), base64: false })),
  fc.string({ maxLength: 200 }).map((text) => ({ text, base64: false })),
  fc.uint8Array({ maxLength: 200 }).map((b) => ({ text: Buffer.from(b).toString("base64"), base64: true })),
  fc.constant({ text: "", base64: false }),
);
const ROUTES: Array<[string, string]> = [
  ["POST", "/v1/tasks"],
  ["GET", "/v1/tasks"],
  ["POST", "/v1/tasks/submit"],
  ["GET", "/v1/tasks/{a}/{b}"],
  ["POST", "/v1/webhooks"],
  ["GET", "/v1/webhooks"],
  ["GET", "/v1/webhooks/{a}"],
  ["PATCH", "/v1/webhooks/{a}"],
  ["DELETE", "/v1/webhooks/{a}"],
  ["POST", "/v1/webhooks/{a}/rotate-secret"],
  ["POST", "/v1/webhooks/{a}/test"],
  ["GET", "/v1/deliveries"],
  ["POST", "/v1/deliveries/{a}/replay"],
];
const query = fc.option(
  fc.oneof(
    fc.string({ maxLength: 30 }),
    fc
      .record(
        {
          limit: fc.oneof(fc.integer(), fc.string()),
          status: fc.string(),
          cursor: fc.string(),
          workspaceId: fc.string(),
        },
        { requiredKeys: [] },
      )
      .map((q) => new URLSearchParams(q as Record<string, string>).toString()),
  ),
  { nil: undefined },
);
/** Mostly a real method and route, so the validators behind them get the traffic; sometimes anything. */
const request = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.tuple(fc.constantFrom(...ROUTES), segment, segment, query).map(([[m, p], a, b, q]) => ({
      method: m,
      path: p.replace("{a}", a).replace("{b}", b) + (q === undefined ? "" : `?${q}`),
    })),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom("GET", "POST", "PATCH", "DELETE", "PUT", "HEAD", "OPTIONS"), path)
      .map(([method, p]) => ({ method, path: p })),
  },
);
const headers = fc.record(
  {
    authorization: fc.oneof(
      { weight: 6, arbitrary: fc.constant(`Bearer ${TOKEN}`) },
      { weight: 1, arbitrary: fc.constantFrom(`Bearer ${TOKEN}x`, "Bearer", `bearer ${TOKEN}`, "Basic abc", "") },
    ),
    "content-type": fc.oneof(
      { weight: 5, arbitrary: fc.constant("application/json") },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          "application/json; charset=utf-8",
          "text/plain",
          "APPLICATION/JSON",
          "",
          "multipart/form-data",
        ),
      },
    ),
    "x-random": fc.string(),
  },
  { requiredKeys: [] },
);

/** The API over a fresh SQLite store; fuzzed webhook URLs may name public hosts, so no DNS is asked and nothing is sent. */
async function fuzzApi() {
  const sim = await startSimulator({ runMs: 0 });
  const store = new SqliteStore(join(tempDir(), "fuzz.db"));
  const client = createQuanmiaoClient({ endpoint: sim.url, credentials: staticCredentials(SIM_CREDENTIAL) });
  onTestFinished(async () => {
    await client.close();
    await store.close();
    await sim.close();
  });
  const config = loadConfig({ RELAY_ALLOW_PRIVATE_TARGETS: "false" });
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
  const resolve = async () => [{ address: "93.184.216.34", family: 4 as const }];
  const handle = createApi(
    {
      store,
      clock: systemClock,
      client,
      sender,
      config,
      registration: { store, clock: systemClock, poll: config.poll, allowPrivateTargets: false, resolve },
    },
    { tokens: [TOKEN] },
  );
  const snapshot = async () =>
    JSON.stringify([
      (await store.listTasks({ limit: 10_000 })).items,
      await store.listWebhooks(),
      (await store.listDeliveries({ limit: 10_000 })).items,
    ]);
  return { handle, store, snapshot, sent };
}

describe("API fuzz", () => {
  it("2,000 random requests: never a 5xx, never a change of state on a 4xx", async () => {
    const { handle, snapshot, sent } = await fuzzApi();
    let statuses: Record<number, number> = {};
    await fc.assert(
      fc.asyncProperty(request, headers, body, async ({ method, path: p }, h, b) => {
        const [rawPath = "", search = ""] = p.split("?");
        const event = {
          rawPath,
          headers: h,
          queryParameters: Object.fromEntries(new URLSearchParams(search)),
          body: b.text,
          isBase64Encoded: b.base64,
          requestContext: { http: { method } },
        };
        const before = await snapshot();
        const request = fromFcEvent(Buffer.from(JSON.stringify(event)));
        const response = "method" in request ? await handle(request) : request;
        statuses[response.status] = (statuses[response.status] ?? 0) + 1;
        expect(response.status).toBeLessThan(500);
        const after = await snapshot();
        for (const refused of REFUSED_IPV6_URLS) expect(after).not.toContain(JSON.stringify(refused).slice(1, -1));
        expect(response.body).not.toContain(TOKEN);
        if (response.status >= 400) {
          expect(after).toBe(before);
          const error = JSON.parse(response.body) as { error: { code: string; message: string; details: unknown[] } };
          expect(typeof error.error.code).toBe("string");
          expect(Array.isArray(error.error.details)).toBe(true);
          expect(response.body).not.toMatch(/at \w+ \(|\.ts:\d+/); // no stack trace
        }
      }),
      { numRuns: 2_000, seed: 5 },
    );
    console.log(JSON.stringify({ statuses, webhookTestsSent: sent.length }));
    statuses = {};
  }, 120_000);

  it("a webhook URL with a refused IPv4 address in an IPv6 form is refused with a 4xx wherever it is given", async () => {
    const { handle, snapshot } = await fuzzApi();
    const send = (method: string, path: string, body: unknown) =>
      handle({
        method,
        path,
        query: new URLSearchParams(),
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
        body: Buffer.from(JSON.stringify(body)),
      });
    const existing = await send("POST", "/v1/webhooks", { url: "https://hooks.example.com/h" });
    expect(existing.status).toBe(201);
    const id = JSON.parse(existing.body).id as string;
    const before = await snapshot();
    for (const url of REFUSED_IPV6_URLS) {
      for (const [method, path, body] of [
        ["POST", "/v1/webhooks", { url }],
        ["PATCH", `/v1/webhooks/${id}`, { url }],
        ["POST", "/v1/tasks", { workspaceId: "llm-a", taskId: "t1", webhooks: [url] }],
      ] as const) {
        const answer = await send(method, path, body);
        expect({ url, method, path, status: answer.status }).toEqual({ url, method, path, status: 422 });
        expect(JSON.parse(answer.body).error.code).toBe("refused_target");
      }
    }
    expect(await snapshot()).toBe(before);
  });
});
