import { describe, expect, it } from "vitest";
import { apiHarness } from "../../support/api.js";
import { startReceiver } from "../../support/receiver.js";

/** Every header the relay's HTTP client owns, in the spellings a caller might use. */
const CONNECTION_HEADERS = [
  "Transfer-Encoding",
  "Expect",
  "Upgrade",
  "Keep-Alive",
  "Connection",
  "Host",
  "Content-Length",
  "TE",
  "Trailer",
  "Proxy-Connection",
  "Proxy-Authenticate",
  "Proxy-Authorization",
];
const SPELLINGS = (name: string) => [name, name.toLowerCase(), name.toUpperCase()];

describe.each(["node", "fc"] as const)("webhook custom headers through %s", (via) => {
  it("refuses each hop-by-hop/connection header, in any case, with 422 naming it, on create and PATCH", async () => {
    const h = await apiHarness();
    const hook = await h.call(via, {
      method: "POST",
      path: "/v1/webhooks",
      body: { url: "http://127.0.0.1:9/h", headers: { "X-Tenant": "acme" } },
    });
    expect(hook.status).toBe(201);
    for (const name of CONNECTION_HEADERS.flatMap(SPELLINGS)) {
      const headers = { "X-Tenant": "acme", [name]: "x" };
      for (const [method, path] of [
        ["POST", "/v1/webhooks"],
        ["PATCH", `/v1/webhooks/${hook.json.id}`],
      ] as const) {
        const answer = await h.call(via, { method, path, body: { url: "http://127.0.0.1:9/h", headers } });
        expect(answer.status, `${method} ${name}`).toBe(422);
        expect(answer.json.error.code).toBe("invalid_value");
        expect(answer.json.error.message).toBe(
          `headers: "${name}" is a hop-by-hop/connection header that the relay's HTTP client sets itself; it cannot be sent`,
        );
        expect(answer.json.error.details[0].field).toBe("headers");
      }
    }
    expect((await h.relay.store.listWebhooks()).map((w) => [w.id, w.headers])).toEqual([
      [hook.json.id, { "X-Tenant": "acme" }],
    ]);
  });

  it("delivers the custom headers it accepts, signed as ever; a webhook stored with an unsendable one still delivers", async () => {
    const h = await apiHarness();
    let secrets: string[] = [];
    const rx = await startReceiver({ secret: () => secrets, now: () => Date.now() });
    const headers = {
      "X-Tenant": "acme",
      Authorization: "Bearer receiver-token",
      "X-Api-Key": "k-123",
      "Accept-Language": "zh-CN",
    };
    const hook = await h.call(via, {
      method: "POST",
      path: "/v1/webhooks",
      body: { url: rx.url, headers, rateLimitPerSecond: 50 },
    });
    expect(hook.status).toBe(201);
    expect(hook.json.headers).toEqual(Object.keys(headers));
    // As a webhook registered before the refusal was kept: its row holds headers undici throws on.
    const old = await h.relay.store.getWebhook(hook.json.id);
    await h.relay.store.createWebhook({
      ...(old as NonNullable<typeof old>),
      id: "wh_stored_before",
      url: `${rx.url}/old`,
      headers: { "X-Tenant": "old", "Transfer-Encoding": "chunked", "Keep-Alive": "timeout=5", Expect: "100-continue" },
      rateLimitPerSecond: undefined,
    });
    secrets = [hook.json.secret];

    const task = h.sim.addTask("llm-headers", { outcome: "SUCCESSED", runMs: 0 });
    await h.call(via, { method: "POST", path: "/v1/tasks", body: { workspaceId: "llm-headers", taskId: task.taskId } });
    const summary = await h.relay.tick(5_000);
    expect(summary).toMatchObject({ delivered: 2, errors: 0 });

    const toNew = rx.received.find((r) => r.headers["x-tenant"] === "acme");
    expect(toNew?.verified?.type).toBe("video_analysis.succeeded");
    expect(toNew?.headers).toMatchObject({
      authorization: "Bearer receiver-token",
      "x-api-key": "k-123",
      "accept-language": "zh-CN",
    });
    const toOld = rx.received.find((r) => r.headers["x-tenant"] === "old");
    expect(toOld?.verified?.type).toBe("video_analysis.succeeded");
    expect(toOld?.headers.expect).toBeUndefined();
    expect(toOld?.headers["keep-alive"]).toBeUndefined();
    expect(toOld?.headers["transfer-encoding"]).toBeUndefined();
  });

  it("refuses a value a header cannot carry, 422 naming it; one stored before fails its attempts saying why, its neighbour unharmed", async () => {
    const h = await apiHarness();
    let secrets: string[] = [];
    const rx = await startReceiver({ secret: () => secrets, now: () => Date.now() });
    const hook = await h.call(via, { method: "POST", path: "/v1/webhooks", body: { url: rx.url } });
    expect(hook.status).toBe(201);
    for (const value of ["全妙", "😀", "café"]) {
      for (const [method, path] of [
        ["POST", "/v1/webhooks"],
        ["PATCH", `/v1/webhooks/${hook.json.id}`],
      ] as const) {
        const answer = await h.call(via, { method, path, body: { url: rx.url, headers: { "X-Tenant": value } } });
        expect(answer.status, `${method} ${value}`).toBe(422);
        expect(answer.json.error.details[0]).toEqual({
          field: "headers",
          message: expect.stringContaining('the value of "X-Tenant" holds characters a header cannot carry'),
        });
      }
    }
    // As one registered before the refusal: undici refuses the value, and the client it tried it on
    // was never used again (with a cap on connections per host, every request to the host then hung).
    const old = await h.relay.store.getWebhook(hook.json.id);
    await h.relay.store.createWebhook({
      ...(old as NonNullable<typeof old>),
      id: "wh_stored_before",
      url: `${rx.url}/old`,
      headers: { "X-Tenant": "全妙" },
    });
    secrets = [hook.json.secret];
    for (let i = 0; i < 6; i++) {
      const task = h.sim.addTask("llm-headers", { outcome: "SUCCESSED", runMs: 0 });
      await h.call(via, {
        method: "POST",
        path: "/v1/tasks",
        body: { workspaceId: "llm-headers", taskId: task.taskId },
      });
    }
    const summary = await h.relay.tick(5_000);
    expect(summary).toMatchObject({ delivered: 6, errors: 0 });
    expect(rx.received.map((r) => r.path)).toEqual(Array(6).fill("/hook"));
    const failed = (await h.relay.store.listDeliveries({ webhookId: "wh_stored_before", limit: 10 })).items;
    expect(failed).toHaveLength(6);
    for (const d of failed) {
      expect(d).toMatchObject({ status: "pending", attempts: 1 });
      expect(d.lastError).toContain('the value of header "X-Tenant" holds characters a header cannot carry');
    }
  });
});
