/**
 * What a browser can be made to send, refused: a foreign Host (DNS rebinding), text that is not
 * UTF-8; and the bearer scheme read case-insensitively without anything else loosening.
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
