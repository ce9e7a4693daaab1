/**
 * A test send is a request to the endpoint like any other: it takes a slot of the webhook's rate
 * limit, and where none is free it sends nothing and says when one will be (429, Retry-After).
 */
import { describe, expect, it } from "vitest";
import { apiHarness } from "../../support/api.js";
import { startReceiver } from "../../support/receiver.js";

describe("a test send under a rate limit", () => {
  it("takes the endpoint's slot; a second within the interval gets 429 with Retry-After and sends nothing", async () => {
    const h = await apiHarness();
    let secrets: string[] = [];
    const rx = await startReceiver({ secret: () => secrets, now: () => Date.now() });
    const created = await h.call("node", {
      method: "POST",
      path: "/v1/webhooks",
      body: { url: rx.url, rateLimitPerSecond: 0.1 },
    });
    secrets = [created.json.secret];
    const path = `/v1/webhooks/${created.json.id}/test`;

    const first = await h.call("node", { method: "POST", path });
    expect(first.json).toMatchObject({ delivered: true, statusCode: 200 });
    const second = await h.call("node", { method: "POST", path });
    expect(second.status).toBe(429);
    expect(second.json.error).toMatchObject({ code: "rate_limited" });
    expect(second.json.error.message).toMatch(
      /at most 0\.1 requests a second, deliveries included; try again in \d+ s/,
    );
    const retryAfter = Number(second.headers["retry-after"]);
    expect(retryAfter).toBeGreaterThanOrEqual(9);
    expect(retryAfter).toBeLessThanOrEqual(10);
    expect(rx.received).toHaveLength(1);

    // Without a limit, nothing is reserved: two test sends in a row both go out.
    await h.call("node", {
      method: "PATCH",
      path: `/v1/webhooks/${created.json.id}`,
      body: { rateLimitPerSecond: null },
    });
    expect((await h.call("node", { method: "POST", path })).json.delivered).toBe(true);
    expect((await h.call("node", { method: "POST", path })).json.delivered).toBe(true);
    expect(rx.received).toHaveLength(3);
  });
});
