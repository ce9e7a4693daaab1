import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it, onTestFinished } from "vitest";
import { SIM_CREDENTIAL, startSimulator } from "../../../dev/quanmiao-simulator/server.js";
import { createApi } from "../../../lib/api/app.js";
import { fromFcEvent } from "../../../lib/api/fc.js";
import type { ApiResponse } from "../../../lib/api/http.js";
import { serveApi } from "../../../lib/api/node-server.js";
import { systemClock } from "../../../lib/clock.js";
import { loadConfig } from "../../../lib/config.js";
import { createQuanmiaoClient } from "../../../lib/quanmiao/client.js";
import { staticCredentials } from "../../../lib/quanmiao/credentials.js";
import { SqliteStore } from "../../../lib/store/sqlite.js";
import { answeringSender, TOKEN } from "../../support/api.js";
import {
  DEEP_TEMPLATES,
  hostile,
  nested,
  REFUSED_IPV6_URLS,
  TEXT_TEMPLATES,
  UNSAFE,
} from "../../support/fuzz-inputs.js";
import { fcQuery, overHttp } from "../../support/fuzz-transport.js";
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
  // SEEDED: the id of a webhook that exists, so that writes to it can succeed where they must not.
  fc.constantFrom("llm-a", "wh_x", "msg_y", "%", "%2F", "%E0%A4%A", "..", "", "a%00b", "%F0%9F%98%80", "SEEDED"),
  fc.string({ maxLength: 20 }).map(encodeURIComponent),
);
const path = fc
  .tuple(fc.constantFrom(...PATHS), segment, segment, fc.option(fc.string({ maxLength: 30 }), { nil: undefined }))
  .map(([p, a, b, extra]) => p.replace("{a}", a).replace("{b}", b) + (extra === undefined ? "" : `?${extra}`));

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
/** Bytes that are not UTF-8, dropped into JSON that would otherwise pass (U+FFFD must never be stored). */
const notUtf8 = fc.constantFrom(
  [0xff],
  [0xc3, 0x28],
  [0xc0, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0xe2, 0x82],
);
const aimed = (templates: Array<[string, string, string]>, values: fc.Arbitrary<string>) =>
  fc.tuple(fc.constantFrom(...templates), values).map(([[method, path, template], value]) => ({
    request: { method, path },
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: { text: template.replaceAll("$", value), base64: false },
  }));
const body = fc.oneof(
  nearValid.map((v) => ({ text: JSON.stringify(v), base64: false })),
  fc.tuple(nearValid, notUtf8, fc.nat()).map(([v, bad, at]) => {
    const text = Buffer.from(JSON.stringify(v));
    const i = text.lastIndexOf('"', text.length - 1 - (at % text.length)) + 1 || 1;
    return {
      text: Buffer.concat([text.subarray(0, i), Buffer.from(bad), text.subarray(i)]).toString("base64"),
      base64: true,
      notText: true,
    };
  }),
  // Bodies that would be taken, but for their bytes.
  fc
    .tuple(fc.constantFrom('{"workspaceId":"w","taskId":"t', '{"url":"https://hooks.example.com/h'), notUtf8)
    .map(([start, bad]) => ({
      text: Buffer.concat([Buffer.from(start), Buffer.from(bad), Buffer.from('"}')]).toString("base64"),
      base64: true,
      notText: true,
    })),
  nearValid.map((v) => ({
    text: JSON.stringify(v).replace(/"([^"]*)"/, '"$1\\ud800"'),
    base64: false,
    notText: v !== null && typeof v === "object" && Object.keys(v).length > 0,
  })),
  jsonValue.map((v) => ({ text: JSON.stringify(v), base64: false })),
  fc.string({ maxLength: 200 }).map((text) => ({ text, base64: false })),
  fc.uint8Array({ maxLength: 200 }).map((b) => ({ text: Buffer.from(b).toString("base64"), base64: true })),
  fc.constant({ text: "", base64: false }),
);
/** Refused by node:http's adapter; through FC, where the event's strings are decoded, only the lone surrogate is left. */
const NOT_UTF8_QUERIES = [
  "workspaceId=%FF",
  "limit=1&status=%C3%28",
  "%ED%A0%80=1",
  "cursor=%E2%82",
  "workspaceId=a\ud800",
];
/** The routes that read a JSON body: one that is not text must never be taken. */
const JSON_BODY = /^(POST \/v1\/(tasks|tasks\/submit|webhooks)|PATCH \/v1\/webhooks\/[^/?]+)(\?|$)/;
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
    fc.constantFrom(...NOT_UTF8_QUERIES),
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
          "application/x-www-form-urlencoded",
          "text/plain;charset=UTF-8",
        ),
      },
    ),
    "x-random": fc.string(),
  },
  { requiredKeys: [] },
);
/** Each Host with whether it is a loopback name and whether ALLOWED (below) lists it: the oracle. */
const HOSTS: Record<string, { loopback: boolean; listed: boolean }> = {
  "127.0.0.1:8787": { loopback: true, listed: false },
  localhost: { loopback: true, listed: true },
  "LOCALHOST:3000": { loopback: true, listed: true },
  "relay.localhost:1": { loopback: true, listed: false },
  "[::1]:8787": { loopback: true, listed: false },
  "relay.example.com": { loopback: false, listed: true },
  "Relay.Example.com:443": { loopback: false, listed: true },
  "rebind.example": { loopback: false, listed: false },
  "127.0.0.1.rebind.example": { loopback: false, listed: false },
  "localhost.rebind.example": { loopback: false, listed: false },
  "10.0.0.1": { loopback: false, listed: false },
};
const ALLOWED = "relay.example.com,localhost";
/** Mostly a Host both setups answer and no cross-site signal, so most requests reach the routes. */
const rarely = <T>(arbitrary: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary });
const site = fc.record({
  host: fc.oneof(
    { weight: 3, arbitrary: fc.constant("localhost") },
    { weight: 2, arbitrary: fc.option(fc.constantFrom(...Object.keys(HOSTS)), { nil: undefined }) },
  ),
  origin: rarely(fc.constantFrom("own", "https://evil.example", "null", "http://localhost:1", "http://127.0.0.1:8788")),
  "sec-fetch-site": rarely(fc.constantFrom("same-origin", "same-site", "cross-site", "none")),
});
/** Mostly anything; often JSON nested 10,000 deep or text with control characters, aimed where it is read. */
const cases = fc.oneof(
  { weight: 3, arbitrary: fc.record({ request, headers, body }) },
  { weight: 1, arbitrary: aimed(DEEP_TEMPLATES, nested) },
  { weight: 1, arbitrary: aimed(TEXT_TEMPLATES, hostile) },
);
const STATE_CHANGING = ["POST", "PUT", "PATCH", "DELETE"];
const FORM_TYPES = ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"];

const SETUPS = [
  { name: "a token and RELAY_API_ALLOWED_HOSTS", tokens: [TOKEN], env: { RELAY_API_ALLOWED_HOSTS: ALLOWED } },
  { name: "no token (loopback only)", tokens: undefined, env: {} },
];

describe.each(SETUPS)("API fuzz, $name", ({ tokens, env }) => {
  it("2,000 random requests (FC events, node:http): no 5xx, no change on a 4xx, no U+FFFD stored, foreign Host and cross-site writes refused", async () => {
    const sim = await startSimulator({ runMs: 0 });
    const store = new SqliteStore(join(tempDir(), "fuzz.db"));
    const client = createQuanmiaoClient({ endpoint: sim.url, credentials: staticCredentials(SIM_CREDENTIAL) });
    onTestFinished(async () => {
      await client.close();
      await store.close();
      await sim.close();
    });
    const config = loadConfig({ RELAY_ALLOW_PRIVATE_TARGETS: "false", ...env });
    // Fuzzed webhook URLs may name public hosts: no DNS is asked and nothing is ever sent.
    const { sender, sent: sentTests } = answeringSender();
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
      { tokens },
    );
    const server = await serveApi(handle, { port: 0, host: "127.0.0.1" });
    onTestFinished(() => server.close());
    const seeded = await handle({
      method: "POST",
      path: "/v1/webhooks",
      query: new URLSearchParams(),
      headers: { host: "localhost", authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: Buffer.from(JSON.stringify({ url: "https://hooks.example.com/seeded" })),
    });
    const seededId = (JSON.parse(seeded.body) as { id: string }).id;
    const snapshot = async () =>
      JSON.stringify([
        (await store.listTasks({ limit: 10_000 })).items,
        await store.listWebhooks(),
        (await store.listDeliveries({ limit: 10_000 })).items,
      ]);
    let statuses: Record<number, number> = {};
    await fc.assert(
      fc.asyncProperty(
        cases,
        site,
        fc.constantFrom("fc", "node"),
        async ({ request: { method, path: template }, headers: h, body: b }, s, via) => {
          const p = template.replaceAll("SEEDED", seededId);
          const [rawPath = "", search = ""] = p.split("?");
          const host = s.host ?? (via === "node" ? "127.0.0.1:8787" : undefined);
          const origin =
            s.origin === "own" ? (host === undefined ? "http://relay.invalid" : `http://${host}`) : s.origin;
          const sent: Record<string, string> = {
            ...h,
            ...(host === undefined ? {} : { host }),
            ...(origin === undefined ? {} : { origin }),
            ...(s["sec-fetch-site"] === undefined ? {} : { "sec-fetch-site": s["sec-fetch-site"] }),
          };
          const before = await snapshot();
          let response: ApiResponse;
          let adapterRefused: boolean;
          if (via === "fc") {
            const event = {
              rawPath,
              headers: sent,
              queryParameters: fcQuery(search),
              body: b.text,
              isBase64Encoded: b.base64,
              requestContext: { http: { method } },
            };
            const request = fromFcEvent(Buffer.from(JSON.stringify(event)));
            adapterRefused = !("method" in request);
            response = "method" in request ? await handle(request) : request;
          } else {
            // node:http refuses to send a header value it cannot put on the wire; the server never sees one.
            const wire = Object.fromEntries(Object.entries(sent).filter(([, v]) => /^[\t\x20-\x7e]*$/.test(v)));
            const bytes = Buffer.from(b.text, b.base64 ? "base64" : "utf8");
            response = await overHttp(server.url, method, p, wire, bytes);
            adapterRefused = response.body.includes('"invalid_utf8"') && /[%\u0080-\uffff]/.test(search);
          }
          statuses[response.status] = (statuses[response.status] ?? 0) + 1;
          expect(response.status).toBeLessThan(500);
          // A bounded refusal: it names what was wrong, never echoes a body back, never carries what it refuses raw.
          if (response.status >= 400) expect(response.body.length).toBeLessThan(8 * 1024);
          if (response.status >= 400) expect(response.body).not.toMatch(UNSAFE);
          expect(response.body).not.toContain(TOKEN);
          const after = await snapshot();
          expect(after).not.toContain("\ufffd");
          for (const refused of REFUSED_IPV6_URLS) expect(after).not.toContain(JSON.stringify(refused).slice(1, -1));
          if (response.status >= 400) {
            expect(after).toBe(before);
            if (method === "HEAD") return; // node:http sends no body
            const error = JSON.parse(response.body) as { error: { code: string; message: string; details: unknown[] } };
            expect(typeof error.error.code).toBe("string");
            expect(Array.isArray(error.error.details)).toBe(true);
            expect(response.body).not.toMatch(/at \w+ \(|\.ts:\d+/); // no stack trace
          }
          const notUtf8Query = via === "node" ? NOT_UTF8_QUERIES.includes(search) : /\p{Cs}/u.test(search);
          if (notUtf8Query && method !== "HEAD") expect(JSON.parse(response.body).error.code).toBe("invalid_utf8");
          if ("notText" in b && b.notText && JSON_BODY.test(`${method} ${p}`))
            expect(response.status).toBeGreaterThanOrEqual(400);
          // What a cross-site form can send never changes anything, whatever the route.
          const type = h["content-type"]?.split(";")[0]?.trim().toLowerCase() ?? "";
          if (STATE_CHANGING.includes(method) && FORM_TYPES.includes(type))
            expect(response.status).toBeGreaterThanOrEqual(400);
          if (adapterRefused) return;
          const known = host === undefined ? undefined : HOSTS[host];
          const hostOk = tokens ? known?.listed === true : known?.loopback === true;
          if (!hostOk) {
            expect(response.status).toBe(421);
            return;
          }
          const foreign = s["sec-fetch-site"] === "cross-site" || (origin !== undefined && s.origin !== "own");
          if (STATE_CHANGING.includes(method) && foreign) expect(response.status).toBe(403);
        },
      ),
      { numRuns: 2_000, seed: 5 },
    );
    console.log(JSON.stringify({ statuses, webhookTestsSent: sentTests.length }));
    statuses = {};
  }, 120_000);
});
