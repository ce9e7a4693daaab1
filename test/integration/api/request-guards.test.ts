/**
 * What a browser can be made to send, refused: a foreign Host (DNS rebinding), a cross-site write,
 * a form-typed body, text that is not UTF-8; and the bearer scheme read case-insensitively without
 * anything else loosening.
 */
import { describe, expect, it } from "vitest";
import { fromFcEvent } from "../../../lib/api/fc.js";
import { apiHarness, rawCall as raw, TOKEN } from "../../support/api.js";

const PROTECTED: Array<[string, string]> = [
  ["GET", "/metrics"],
  ["GET", "/v1/tasks"],
  ["POST", "/v1/tasks"],
  ["POST", "/v1/tasks/submit"],
  ["GET", "/v1/tasks/w/t"],
  ["DELETE", "/v1/tasks/w/t"],
  ["GET", "/v1/webhooks"],
  ["POST", "/v1/webhooks"],
  ["GET", "/v1/webhooks/wh_x"],
  ["PATCH", "/v1/webhooks/wh_x"],
  ["DELETE", "/v1/webhooks/wh_x"],
  ["POST", "/v1/webhooks/wh_x/rotate-secret"],
  ["POST", "/v1/webhooks/wh_x/test"],
  ["GET", "/v1/deliveries"],
  ["GET", "/v1/deliveries/d"],
  ["POST", "/v1/deliveries/d/replay"],
  ["GET", "/v1/events"],
  ["GET", "/v1/events/evt_x"],
];

describe.each(["node", "fc"] as const)("the bearer scheme through %s", (via) => {
  it("is read in any case; the token, its one space and every protected route are as strict as before", async () => {
    const h = await apiHarness();
    for (const scheme of ["Bearer", "bearer", "BEARER", "bEaReR"]) {
      const ok = await h.call(via, {
        method: "GET",
        path: "/v1/webhooks",
        auth: false,
        headers: { authorization: `${scheme} ${TOKEN}` },
      });
      expect(ok.status, scheme).toBe(200);
    }
    const refused = [
      undefined,
      `bearer ${TOKEN.toUpperCase()}`,
      `bearer ${TOKEN}x`,
      `bearer  ${TOKEN}`,
      `Basic ${TOKEN}`,
      `Bearer${TOKEN}`,
      TOKEN,
    ];
    for (const [method, path] of PROTECTED) {
      for (const authorization of refused) {
        const answer = await h.call(via, {
          method,
          path,
          auth: false,
          headers: authorization === undefined ? {} : { authorization },
        });
        expect(answer.status, `${method} ${path} with ${authorization}`).toBe(401);
      }
    }
  });
});

describe.each(["node", "fc"] as const)("text that is not UTF-8, through %s", (via) => {
  it("400 invalid_utf8 for a JSON body, nothing stored", async () => {
    const h = await apiHarness();
    const bodies = [
      Buffer.concat([Buffer.from('{"workspaceId":"llm-a","taskId":"t'), Buffer.from([0xff]), Buffer.from('1"}')]),
      Buffer.concat([Buffer.from('{"workspaceId":"llm-a","taskId":"t'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]),
      // An overlong "/" and a UTF-16 surrogate encoded as UTF-8: both refused by a strict decoder.
      Buffer.concat([Buffer.from('{"workspaceId":"llm-a","taskId":"t'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')]),
      Buffer.concat([
        Buffer.from('{"workspaceId":"llm-a","taskId":"t'),
        Buffer.from([0xed, 0xa0, 0x80]),
        Buffer.from('"}'),
      ]),
      Buffer.from('{"workspaceId":"llm-a","taskId":"t\\ud800"}'),
      Buffer.from('{"workspaceId":"llm-a","taskId":"t","metadata":{"\\udc00":1}}'),
    ];
    for (const body of bodies) {
      const answer = await h.call(via, {
        method: "POST",
        path: "/v1/tasks",
        headers: { "content-type": "application/json" },
        body,
      });
      expect(answer.status, body.toString("latin1")).toBe(400);
      expect(answer.json.error.code).toBe("invalid_utf8");
      expect(answer.json.error.message).toMatch(/UTF-8/);
    }
    expect((await h.call(via, { method: "GET", path: "/v1/tasks" })).json.items).toEqual([]);
    // Well-formed text outside ASCII is still text.
    const accepted = await h.call(via, {
      method: "POST",
      path: "/v1/tasks",
      body: { workspaceId: "llm-a", taskId: "t-é😀" },
    });
    expect(accepted.status).toBe(201);
    expect(accepted.json.task.taskId).toBe("t-é😀");
  });
});

describe("query strings and paths that are not UTF-8", () => {
  it("node: 400 invalid_utf8 for a query whose escapes are not UTF-8; well-formed escapes still read", async () => {
    const h = await apiHarness();
    for (const query of ["workspaceId=%FF", "workspaceId=a%C3%28", "x%ED%A0%80=1", "workspaceId=%E0%A4%A"]) {
      const answer = await h.call("node", { method: "GET", path: `/v1/tasks?${query}` });
      expect(answer.status, query).toBe(400);
      expect(answer.json.error.code).toBe("invalid_utf8");
    }
    const fine = await h.call("node", { method: "GET", path: "/v1/tasks?workspaceId=%C3%A9%F0%9F%98%80&limit=5%" });
    expect(fine.json.error?.code).toBe("invalid_request"); // "5%" is a bad limit, not bad UTF-8
    expect((await h.call("node", { method: "GET", path: "/v1/tasks?workspaceId=%C3%A9" })).status).toBe(200);
    expect((await h.call("node", { method: "GET", path: "/v1/webhooks/wh_%FF" })).json.error.code).toBe("invalid_path");
  });

  it("fc: a lone surrogate in the event's query, body text or path is refused, not turned into U+FFFD", () => {
    const event = (e: Record<string, unknown>) =>
      fromFcEvent(
        Buffer.from(JSON.stringify({ rawPath: "/v1/tasks", requestContext: { http: { method: "GET" } }, ...e })),
      );
    const code = (r: ReturnType<typeof fromFcEvent>) => ("method" in r ? "read" : JSON.parse(r.body).error.code);
    expect(code(event({ queryParameters: { workspaceId: "a\ud800" } }))).toBe("invalid_utf8");
    expect(code(event({ queryParameters: { "\udfff": "1" } }))).toBe("invalid_utf8");
    expect(code(event({ body: '{"taskId":"\ud800"}' }))).toBe("invalid_utf8");
    expect(code(event({ queryParameters: { workspaceId: "é😀" }, body: '{"a":"é"}' }))).toBe("read");
  });

  it("fc: a lone surrogate in rawPath is an invalid path", async () => {
    const h = await apiHarness();
    const answer = await h.call("fc", { method: "GET", path: "/v1/webhooks/wh_\ud800" });
    expect(answer.status).toBe(400);
    expect(answer.json.error.code).toBe("invalid_path");
  });
});

describe("the Host, without a token (DNS rebinding)", () => {
  it("421 for any Host that is not a loopback name or literal, on every route; loopback names on any port pass", async () => {
    const h = await apiHarness({ RELAY_API_TOKEN: "" });
    const port = new URL(h.server.url).port;
    const paths = ["/v1/webhooks", "/", "/console", "/healthz", "/v1/healthz", "/metrics", "/v1/openapi.json", "/nope"];
    const foreign = [
      "rebind.example",
      `rebind.example:${port}`,
      "127.0.0.1.rebind.example",
      "localhost.rebind.example",
      "localhost.",
      "10.0.0.1",
      "128.0.0.1",
      "127.0.0.256",
      "[::2]",
      "[::ffff:7f00:1]",
      "user@localhost",
    ];
    for (const path of paths) {
      for (const host of foreign) {
        const answer = await raw(h.server.url, { path, headers: { host } });
        expect(answer.status, `${path} Host: ${host}`).toBe(421);
        expect(answer.json.error).toMatchObject({ code: "misdirected_request" });
        expect(answer.json.error?.message).toContain("RELAY_API_TOKEN");
      }
    }
    // A rebound page's write, the attack the report describes, does nothing.
    const write = await raw(h.server.url, {
      method: "POST",
      path: "/v1/webhooks",
      headers: { host: `rebind.example:${port}`, "content-type": "application/json" },
      body: JSON.stringify({ url: "http://127.0.0.1:9/hook" }),
    });
    expect(write.status).toBe(421);
    expect((await raw(h.server.url, { path: "/v1/webhooks" })).json.items).toEqual([]);
    for (const host of [
      "localhost",
      `localhost:${port}`,
      "LOCALHOST:1",
      "relay.localhost:8787",
      "127.0.0.1",
      "127.255.0.9:80",
      "[::1]",
      `[::1]:${port}`,
    ]) {
      expect((await raw(h.server.url, { path: "/v1/webhooks", headers: { host } })).status, host).toBe(200);
    }
  });

  it("with a token, any Host by default; RELAY_API_ALLOWED_HOSTS narrows it, on node and fc", async () => {
    const open = await apiHarness();
    expect((await raw(open.server.url, { path: "/v1/healthz", headers: { host: "relay.example.com" } })).status).toBe(
      200,
    );

    const h = await apiHarness({ RELAY_API_ALLOWED_HOSTS: "Relay.Example.com, localhost" });
    const auth = { authorization: `Bearer ${TOKEN}` };
    for (const [host, status] of [
      ["relay.example.com", 200],
      ["RELAY.example.com:443", 200],
      ["localhost:8787", 200],
      ["127.0.0.1", 421],
      ["other.example.com", 421],
      ["relay.example.com.evil.example", 421],
    ] as const) {
      expect((await raw(h.server.url, { path: "/v1/webhooks", headers: { ...auth, host } })).status, host).toBe(status);
      expect((await raw(h.server.url, { path: "/healthz", headers: { host } })).status, host).toBe(status);
      const viaFc = await h.call("fc", { method: "GET", path: "/v1/webhooks", headers: { Host: host } });
      expect(viaFc.status, `fc ${host}`).toBe(status);
    }
    const refused = await h.call("fc", { method: "GET", path: "/console", headers: { host: "evil.example" } });
    expect(refused.json.error.message).toContain("RELAY_API_ALLOWED_HOSTS");
  });
});

describe("cross-site writes (CSRF)", () => {
  async function withWebhook(env: Record<string, string> = {}) {
    const h = await apiHarness(env);
    const created = await h.call("node", {
      method: "POST",
      path: "/v1/webhooks",
      body: { url: "http://127.0.0.1:9/h" },
    });
    expect(created.status).toBe(201);
    const id = String(created.json.id);
    const secret = async () => JSON.stringify((await h.relay.store.getWebhook(id))?.secrets);
    return { h, id, secret };
  }

  it("no token: 403 for a state-changing request with a foreign Origin or Sec-Fetch-Site cross-site; nothing changes", async () => {
    const { h, id, secret } = await withWebhook({ RELAY_API_TOKEN: "" });
    const own = new URL(h.server.url).host;
    const before = await secret();
    const simple = { "content-type": "text/plain" };
    const attempts: Array<Record<string, string>> = [
      { origin: "https://evil.example", ...simple },
      { origin: "http://evil.example", "content-type": "application/json" },
      { origin: "null", ...simple },
      { origin: `http://${own.replace(/:\d+$/, ":1")}`, ...simple }, // same site, other port
      { "sec-fetch-site": "cross-site", ...simple },
      { "sec-fetch-site": "cross-site" },
      { "sec-fetch-site": "cross-site", origin: `http://${own}` },
    ];
    const writes: Array<[string, string]> = [
      ["POST", `/v1/webhooks/${id}/rotate-secret`],
      ["POST", `/v1/webhooks/${id}/test`],
      ["POST", "/v1/deliveries/d_x/replay"],
      ["DELETE", `/v1/webhooks/${id}`],
      ["PATCH", `/v1/webhooks/${id}`],
      ["POST", "/v1/webhooks"],
      ["PUT", "/v1/webhooks"],
    ];
    for (const [method, path] of writes) {
      for (const headers of attempts) {
        const answer = await raw(h.server.url, { method, path, headers });
        expect(answer.status, `${method} ${path} ${JSON.stringify(headers)}`).toBe(403);
        expect(answer.json.error?.code).toBe("cross_origin_refused");
      }
    }
    expect(await secret()).toBe(before);
    expect((await h.call("node", { method: "GET", path: "/v1/webhooks" })).json.items).toHaveLength(1);
    // Reads are not refused: CORS keeps their answers from the other site.
    const read = await raw(h.server.url, { path: "/v1/webhooks", headers: { origin: "https://evil.example" } });
    expect(read.status).toBe(200);
  });

  it("no token: the body-less routes take no form type (415), but JSON or nothing at all from the own origin", async () => {
    const { h, id, secret } = await withWebhook({ RELAY_API_TOKEN: "" });
    const own = `http://${new URL(h.server.url).host}`;
    const before = await secret();
    const paths = [`/v1/webhooks/${id}/rotate-secret`, `/v1/webhooks/${id}/test`, "/v1/deliveries/d_x/replay"];
    for (const path of paths) {
      for (const type of [
        "text/plain",
        "text/plain;charset=UTF-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "TEXT/PLAIN",
      ]) {
        const answer = await raw(h.server.url, { method: "POST", path, headers: { "content-type": type }, body: "" });
        expect(answer.status, `${path} ${type}`).toBe(415);
        expect(answer.json.error?.code).toBe("unsupported_media_type");
      }
      const untyped = await raw(h.server.url, { method: "POST", path, body: "a=1" });
      expect(untyped.status, `${path} untyped body`).toBe(415);
    }
    expect(await secret()).toBe(before);
    // What the console, the CLI and curl send still passes.
    const passing: Array<Record<string, string>> = [
      { origin: own, "sec-fetch-site": "same-origin", "content-type": "application/json" },
      { origin: own.replace("127.0.0.1", "LOCALHOST"), host: new URL(own).host.replace("127.0.0.1", "localhost") },
      { "sec-fetch-site": "same-origin" },
      { "sec-fetch-site": "none" },
      {},
    ];
    for (const headers of passing) {
      const rotated = await raw(h.server.url, {
        method: "POST",
        path: `/v1/webhooks/${id}/rotate-secret`,
        headers,
      });
      expect(rotated.status, JSON.stringify(headers)).toBe(200);
    }
    const withJson = await raw(h.server.url, {
      method: "POST",
      path: `/v1/webhooks/${id}/rotate-secret`,
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(withJson.status).toBe(200);
    expect(await secret()).not.toBe(before);
  });

  it("with a token too, through node and fc: the same refusals (the token is not the only guard)", async () => {
    const { h, id } = await withWebhook();
    const post = (via: "node" | "fc", path: string, headers: Record<string, string>) =>
      via === "node"
        ? raw(h.server.url, { method: "POST", path, headers: { authorization: `Bearer ${TOKEN}`, ...headers } })
        : h.call("fc", { method: "POST", path, headers });
    const host = "relay.example.com";
    for (const via of ["node", "fc"] as const) {
      const rotate = `/v1/webhooks/${id}/rotate-secret`;
      expect((await post(via, rotate, { origin: "https://evil.example", host })).status, via).toBe(403);
      expect((await post(via, rotate, { "sec-fetch-site": "cross-site", host })).status, via).toBe(403);
      expect((await post(via, `/v1/webhooks/${id}/test`, { "content-type": "text/plain" })).status, via).toBe(415);
      const own = await post(via, rotate, { origin: `https://${host}`, host, "sec-fetch-site": "same-origin" });
      expect(own.status, via).toBe(200);
    }
  });
});

describe.each(["node", "fc"] as const)("a body sent other than as plain UTF-8 JSON, through %s", (via) => {
  it("415 for a compressed body or a charset other than UTF-8, naming it; a byte order mark is ignored", async () => {
    const h = await apiHarness();
    const task = { workspaceId: "llm-a", taskId: "t1" };
    const gzip = await h.call(via, {
      method: "POST",
      path: "/v1/tasks",
      headers: { "content-type": "application/json", "content-encoding": "gzip" },
      body: Buffer.from(JSON.stringify(task)),
    });
    expect(gzip.status).toBe(415);
    expect(gzip.json.error.message).toBe("the body must not be encoded (Content-Encoding: gzip): send plain JSON");
    const latin1 = await h.call(via, {
      method: "POST",
      path: "/v1/tasks",
      headers: { "content-type": "application/json; charset=ISO-8859-1" },
      body: Buffer.from('{"workspaceId":"llm-a","taskId":"caf\xe9"}', "latin1"),
    });
    expect(latin1.status).toBe(415);
    expect(latin1.json.error.message).toBe("the body must be UTF-8, not charset=iso-8859-1");
    expect((await h.call(via, { method: "GET", path: "/v1/tasks" })).json.items).toEqual([]);

    for (const contentType of ["application/json; charset=utf-8", 'application/json;charset="UTF-8"']) {
      const withBom = await h.call(via, {
        method: "POST",
        path: "/v1/tasks",
        headers: { "content-type": contentType, "content-encoding": "identity" },
        body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(task))]),
      });
      expect(withBom.status, contentType).toBeLessThan(300);
      expect(withBom.json.task.taskId).toBe("t1");
    }
  });
});

describe("HEAD and the numbers in a query", () => {
  it("HEAD is a GET without its body; 405 lists it beside GET", async () => {
    const h = await apiHarness();
    const head = await h.call("node", { method: "HEAD", path: "/v1/tasks" });
    expect(head.status).toBe(200);
    expect(head.text).toBe("");
    expect((await h.call("fc", { method: "HEAD", path: "/v1/healthz" })).text).toBe("");
    const wrong = await h.call("node", { method: "PUT", path: "/v1/tasks" });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.allow).toBe("POST, GET, HEAD");
  });

  it("a limit or a since that is not decimal digits is 400 naming it, where it used to be read as a number", async () => {
    const h = await apiHarness();
    for (const [path, field] of [
      ["/v1/tasks?limit=", "query.limit"],
      ["/v1/tasks?limit=0x10", "query.limit"],
      ["/v1/tasks?limit=1e2", "query.limit"],
      ["/v1/tasks?limit=%205", "query.limit"],
      ["/v1/events?since=", "query.since"],
      ["/v1/deliveries?since=0x10", "query.since"],
      ["/v1/event-resends?since=-1", "query.since"],
      ["/v1/event-resends?since=1.5", "query.since"],
    ]) {
      const answer = await h.call("node", { method: "GET", path: path as string });
      expect(answer.status, path).toBe(400);
      expect(
        answer.json.error.details.map((d: { field: string }) => d.field),
        path,
      ).toContain(field);
    }
    for (const path of ["/v1/tasks?limit=16", "/v1/events?since=0", "/v1/events?since=2026-12-01T00:00:00Z"])
      expect((await h.call("node", { method: "GET", path })).status, path).toBe(200);
  });
});
