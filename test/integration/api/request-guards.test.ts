/**
 * Text that is not UTF-8, refused rather than stored altered; and the bearer scheme read
 * case-insensitively without anything else loosening.
 */
import { describe, expect, it } from "vitest";
import { fromFcEvent } from "../../../lib/api/fc.js";
import { apiHarness, TOKEN } from "../../support/api.js";

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
