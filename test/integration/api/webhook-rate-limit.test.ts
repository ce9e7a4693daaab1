import { describe, expect, it } from "vitest";
import { apiHarness } from "../../support/api.js";

describe.each(["node", "fc"] as const)("webhook rate limits through %s", (via) => {
  it("stores a rate limit at creation, shows it (null when unset), changes and removes it by PATCH", async () => {
    const h = await apiHarness();
    const slow = await h.call(via, {
      method: "POST",
      path: "/v1/webhooks",
      body: { url: "http://127.0.0.1:9/slow", rateLimitPerSecond: 0.5 },
    });
    expect(slow.status).toBe(201);
    expect(slow.json.rateLimitPerSecond).toBe(0.5);
    const free = await h.call(via, { method: "POST", path: "/v1/webhooks", body: { url: "http://127.0.0.1:9/free" } });
    expect(free.json.rateLimitPerSecond).toBeNull();
    expect((await h.relay.store.getWebhook(slow.json.id))?.rateLimitPerSecond).toBe(0.5);

    const listed = (await h.call(via, { method: "GET", path: "/v1/webhooks" })).json.items;
    // Two webhooks made within one millisecond may list in either order: match them by URL.
    const byUrl = (w: { url: string; rateLimitPerSecond: unknown }) => [w.url, w.rateLimitPerSecond];
    expect(Object.fromEntries(listed.map(byUrl))).toEqual({
      "http://127.0.0.1:9/slow": 0.5,
      "http://127.0.0.1:9/free": null,
    });
    const one = (path: string) => h.call(via, { method: "GET", path });
    expect((await one(`/v1/webhooks/${slow.json.id}?expand=last24h`)).json.rateLimitPerSecond).toBe(0.5);

    const patch = (id: string, body: unknown) => h.call(via, { method: "PATCH", path: `/v1/webhooks/${id}`, body });
    expect((await patch(free.json.id, { rateLimitPerSecond: 10_000 })).json.rateLimitPerSecond).toBe(10_000);
    // A PATCH without the field leaves it alone.
    expect((await patch(slow.json.id, { enabled: false })).json).toMatchObject({
      rateLimitPerSecond: 0.5,
      enabled: false,
    });
    expect((await patch(slow.json.id, { rateLimitPerSecond: null })).json.rateLimitPerSecond).toBeNull();
    expect((await h.relay.store.getWebhook(slow.json.id))?.rateLimitPerSecond).toBeUndefined();
    // Rotating the secret keeps it.
    const rotated = await h.call(via, { method: "POST", path: `/v1/webhooks/${free.json.id}/rotate-secret` });
    expect(rotated.json.rateLimitPerSecond).toBe(10_000);
  });

  it.each([
    ["0", 0],
    ["a negative number", -1],
    ["the smallest double (its interval overflowed: no limit at all)", 5e-324],
    ["under one request every 10,000 s", 0.000099],
    ["over the maximum", 10_000.5],
    ["a numeric string", "5"],
    ["true", true],
    ["a list", [1]],
    ["an object", { perSecond: 1 }],
  ])("refuses %s as a rate limit with 422 naming the field, on create and PATCH, writing nothing", async (_, value) => {
    const h = await apiHarness();
    const created = await h.call(via, {
      method: "POST",
      path: "/v1/webhooks",
      body: { url: "http://127.0.0.1:9/h", rateLimitPerSecond: value },
    });
    expect(created.status).toBe(422);
    expect(created.json.error.code).toBe("invalid_value");
    expect(created.json.error.details).toEqual([{ field: "rateLimitPerSecond", message: created.json.error.message }]);
    expect(created.json.error.message).toMatch(
      /^rateLimitPerSecond: must be a number of requests per second from 0.0001 \(one every 10,000 s\) to 10000/,
    );
    expect(await h.relay.store.listWebhooks()).toEqual([]);

    const hook = await h.call(via, {
      method: "POST",
      path: "/v1/webhooks",
      body: { url: "http://127.0.0.1:9/h", rateLimitPerSecond: 2 },
    });
    const patched = await h.call(via, {
      method: "PATCH",
      path: `/v1/webhooks/${hook.json.id}`,
      body: { rateLimitPerSecond: value, enabled: false },
    });
    expect(patched.status).toBe(422);
    expect(patched.json.error.details[0].field).toBe("rateLimitPerSecond");
    expect(await h.relay.store.getWebhook(hook.json.id)).toMatchObject({ rateLimitPerSecond: 2, enabled: true });
  });

  it("refuses what JSON can spell but a finite number is not (1e400 parses as Infinity), and null at creation", async () => {
    const h = await apiHarness();
    const infinite = await h.call(via, {
      method: "POST",
      path: "/v1/webhooks",
      headers: { "content-type": "application/json" },
      body: '{"url":"http://127.0.0.1:9/h","rateLimitPerSecond":1e400}',
    });
    expect(infinite.status).toBe(422);
    expect(infinite.json.error.message).toMatch(/got Infinity$/);
    // null removes a limit by PATCH; at creation, leaving the field out is how to have none.
    const nullAtCreation = await h.call(via, {
      method: "POST",
      path: "/v1/webhooks",
      body: { url: "http://127.0.0.1:9/h", rateLimitPerSecond: null },
    });
    expect(nullAtCreation.status).toBe(422);
    expect(nullAtCreation.json.error.details[0].field).toBe("rateLimitPerSecond");
    expect(await h.relay.store.listWebhooks()).toEqual([]);
  });
});
