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

const jsonValue = fc.jsonValue({ maxDepth: 3 });
const nearValid = fc.oneof(
  fc.record(
    {
      workspaceId: fc.string(),
      taskId: fc.string(),
      webhooks: fc.array(fc.string(), { maxLength: 3 }),
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
      url: fc.oneof(fc.webUrl(), fc.string()),
      events: fc.array(fc.string(), { maxLength: 3 }),
      headers: fc.dictionary(fc.string(), fc.string()),
    },
    { requiredKeys: [] },
  ),
  fc.record({ workspaceId: fc.string({ minLength: 1 }), request: fc.dictionary(fc.string(), jsonValue) }),
  fc.record({ enabled: fc.anything(), events: fc.anything(), url: fc.anything() }, { requiredKeys: [] }),
);
/** A JSON value nested `depth` deep (objects or arrays), as text: JSON.stringify could not build it. */
const nested = fc
  .tuple(fc.constantFrom(33, 1_000, 10_000), fc.boolean())
  .map(([depth, arrays]) =>
    arrays ? `${"[".repeat(depth)}1${"]".repeat(depth)}` : `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`,
  );
/** Every free-form place in every body, with the route that reads it. */
const DEEP_TEMPLATES: Array<[string, string, string]> = [
  ["POST", "/v1/tasks", '{"workspaceId":"llm-a","taskId":"t","metadata":{"k":$}}'],
  [
    "POST",
    "/v1/tasks",
    '{"tasks":[{"workspaceId":"llm-a","taskId":"t0"},{"workspaceId":"llm-a","taskId":"t1","metadata":{"k":$}}]}',
  ],
  ["POST", "/v1/tasks/submit", '{"workspaceId":"llm-a","request":{"videoUrl":"https://v.example/a.mp4","k":$}}'],
  [
    "POST",
    "/v1/tasks/submit",
    '{"workspaceId":"llm-a","request":{"videoUrl":"https://v.example/a.mp4"},"metadata":{"k":$}}',
  ],
  ["POST", "/v1/webhooks", '{"url":"https://hooks.example/h","headers":{"X-A":$}}'],
  ["POST", "/v1/webhooks", '{"url":"https://hooks.example/h","rateLimitPerSecond":$}'],
  ["PATCH", "/v1/webhooks/wh_x", '{"enabled":$,"events":$}'],
  ["POST", "/v1/webhooks", "$"],
];
/** Each place an id, a URL or a name is given, with the route that reads it. */
const TEXT_TEMPLATES: Array<[string, string, string]> = [
  ["POST", "/v1/tasks", '{"workspaceId":"llm-a","taskId":"$"}'],
  ["POST", "/v1/tasks", '{"workspaceId":"$","taskId":"t"}'],
  ["POST", "/v1/tasks", '{"workspaceId":"llm-a","taskId":"t","profile":"$"}'],
  ["POST", "/v1/tasks", '{"workspaceId":"llm-a","taskId":"t","webhooks":["https://hooks.example/$"]}'],
  ["POST", "/v1/tasks", '{"tasks":[{"workspaceId":"llm-a","taskId":"ok"},{"workspaceId":"llm-a","taskId":"$"}]}'],
  [
    "POST",
    "/v1/tasks/submit",
    '{"workspaceId":"llm-a","request":{"videoUrl":"https://v.example/a.mp4"},"deduplicationId":"$"}',
  ],
  [
    "POST",
    "/v1/tasks/submit",
    '{"workspaceId":"llm-a","request":{"videoUrl":"https://v.example/a.mp4"},"webhooks":["https://hooks.example/$"]}',
  ],
  ["POST", "/v1/webhooks", '{"url":"https://hooks.example/$"}'],
  ["POST", "/v1/webhooks", '{"url":"https://hooks.example/h","workspaceId":"$"}'],
  ["POST", "/v1/webhooks", '{"url":"https://hooks.example/h","headers":{"X-A":"$"}}'],
];
const aimed = (templates: Array<[string, string, string]>, values: fc.Arbitrary<string>) =>
  fc.tuple(fc.constantFrom(...templates), values).map(([[method, path, template], value]) => ({
    request: { method, path },
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: { text: template.replaceAll("$", value), base64: false },
  }));
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding them raw is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
/** Text with the characters that drive a terminal or reorder what it shows (JSON-escaped). */
const hostile = fc
  .tuple(
    fc.string({ maxLength: 8 }),
    fc.constantFrom("\\u001b[2J", "\\u0007", "\\r", "\\n", "\\u009b", "\\u007f", "\\u202e", "\\u2066", "\\u0000"),
  )
  .map(([text, c]) => `${JSON.stringify(text).slice(1, -1)}${c}x`);
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

/** Mostly anything; often JSON nested 10,000 deep or text with control characters, aimed where it is read. */
const cases = fc.oneof(
  { weight: 3, arbitrary: fc.record({ request, headers, body }) },
  { weight: 1, arbitrary: aimed(DEEP_TEMPLATES, nested) },
  { weight: 1, arbitrary: aimed(TEXT_TEMPLATES, hostile) },
);

describe("API fuzz", () => {
  it("2,000 random requests, 10,000-deep JSON and control characters among them: never a 5xx, never a change of state on a 4xx", async () => {
    const sim = await startSimulator({ runMs: 0 });
    const store = new SqliteStore(join(tempDir(), "fuzz.db"));
    const client = createQuanmiaoClient({ endpoint: sim.url, credentials: staticCredentials(SIM_CREDENTIAL) });
    onTestFinished(async () => {
      await client.close();
      await store.close();
      await sim.close();
    });
    const config = loadConfig({ RELAY_ALLOW_PRIVATE_TARGETS: "false" });
    // Fuzzed webhook URLs may name public hosts: no DNS is asked and nothing is ever sent.
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
    let statuses: Record<number, number> = {};
    await fc.assert(
      fc.asyncProperty(cases, async ({ request: { method, path: p }, headers: h, body: b }) => {
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
        // A bounded refusal: it names what was wrong, it never echoes a body back.
        if (response.status >= 400) expect(response.body.length).toBeLessThan(8 * 1024);
        // A refusal never carries what it refuses raw.
        if (response.status >= 400) expect(response.body).not.toMatch(UNSAFE);
        expect(response.body).not.toContain(TOKEN);
        if (response.status >= 400) {
          expect(await snapshot()).toBe(before);
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
});
