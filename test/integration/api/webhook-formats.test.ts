/**
 * POST/PATCH /v1/webhooks with a `format` or an `eventBridge` bus, through the node server and the
 * FC function alike: what is stored and shown, and every refusal (422 naming the field). The test
 * send in each format is read by the `cloudevents` SDK and verified with `standardwebhooks`.
 */
import { describe, expect, it } from "vitest";
import { type Answer, apiHarness } from "../../support/api.js";
import { attributesOf, receivedCloudEvent } from "../../support/cloudevents.js";
import { startReceiver } from "../../support/receiver.js";

const OWN = { FC_REGION: "cn-beijing", FC_ACCOUNT_ID: "1234567890123456" };

function refused(answer: Answer, field: string, message?: RegExp) {
  expect(answer.status, answer.text).toBe(422);
  expect(answer.json.error.code).toBe("invalid_value");
  expect(answer.json.error.details[0].field).toBe(field);
  if (message) expect(answer.json.error.message).toMatch(message);
}

describe.each(["node", "fc"] as const)("webhook formats and EventBridge targets through %s", (via) => {
  it("takes a format, shows it, changes it; an unknown one is 422 naming `format`", async () => {
    const h = await apiHarness();
    const post = (body: unknown) => h.call(via, { method: "POST", path: "/v1/webhooks", body });
    const plain = await post({ url: "http://127.0.0.1:9/plain" });
    expect(plain.json).toMatchObject({ format: "standard", eventBridge: null });
    const binary = await post({ url: "http://127.0.0.1:9/ce", format: "cloudevents-binary" });
    expect(binary.status).toBe(201);
    expect(binary.json).toMatchObject({ format: "cloudevents-binary", eventBridge: null });
    expect((await h.relay.store.getWebhook(binary.json.id))?.format).toBe("cloudevents-binary");

    refused(await post({ url: "http://127.0.0.1:9/x", format: "cloudevents" }), "format", /must be one of standard/);
    refused(await post({ url: "http://127.0.0.1:9/x", format: 1 }), "format");
    refused(
      await post({ url: "http://127.0.0.1:9/x", format: "cloudevents-binary", headers: { "ce-tenant": "a" } }),
      "headers",
      /ce-\* headers carry the event's attributes/,
    );

    const path = `/v1/webhooks/${binary.json.id}`;
    const patch = (body: unknown) => h.call(via, { method: "PATCH", path, body });
    expect((await patch({ format: "cloudevents-structured" })).json.format).toBe("cloudevents-structured");
    refused(await patch({ format: "xml" }), "format");
    expect((await patch({ format: null })).json.format).toBe("standard");
    expect((await h.relay.store.getWebhook(binary.json.id))?.format).toBeUndefined();
    const listed = await h.call(via, { method: "GET", path: "/v1/webhooks" });
    expect(listed.json.items.map((w: { format: string }) => w.format)).toEqual(["standard", "standard"]);
  });

  it("subscribes an EventBridge bus: the relay's own region and account by default, stored as the bus's name", async () => {
    const h = await apiHarness({ ...OWN, RELAY_ALLOW_PRIVATE_TARGETS: "false" });
    const post = (body: unknown) => h.call(via, { method: "POST", path: "/v1/webhooks", body });
    const own = await post({ eventBridge: { busName: "relay-events" }, events: ["video_analysis.failed"] });
    expect(own.status, own.text).toBe(201);
    expect(own.json).toMatchObject({
      url: "acs:eventbridge:cn-beijing:1234567890123456:eventbus/relay-events",
      format: null,
      eventBridge: { busName: "relay-events", region: "cn-beijing", accountId: "1234567890123456" },
      events: ["video_analysis.failed"],
    });
    expect((await h.relay.store.getWebhook(own.json.id))?.eventBridge).toEqual({
      busName: "relay-events",
      region: "cn-beijing",
      accountId: "1234567890123456",
    });
    const other = await post({
      eventBridge: { busName: "Bus-2", region: "cn-hangzhou", accountId: "42" },
      workspaceId: "llm-a",
      rateLimitPerSecond: 5,
    });
    expect(other.json).toMatchObject({ url: "acs:eventbridge:cn-hangzhou:42:eventbus/Bus-2", rateLimitPerSecond: 5 });

    refused(await post({ eventBridge: { busName: "default" } }), "eventBridge.busName", /publish to a custom bus/);
    refused(await post({ eventBridge: { busName: "eventbridge-reserved-a" } }), "eventBridge.busName", /reserved/);
    refused(await post({ eventBridge: { busName: "a".repeat(128) } }), "eventBridge.busName", /at most 127/);
    refused(await post({ eventBridge: { busName: "no_underscores" } }), "eventBridge.busName");
    refused(await post({ eventBridge: { busName: "b", region: "Hangzhou" } }), "eventBridge.region");
    refused(await post({ eventBridge: { busName: "b", accountId: "acme" } }), "eventBridge.accountId");
    refused(await post({ eventBridge: "b" }), "eventBridge");
    refused(await post({ url: "http://127.0.0.1:9/h", eventBridge: { busName: "b" } }), "eventBridge", /not both/);
    refused(await post({ eventBridge: { busName: "b" }, format: "cloudevents-binary" }), "format", /CloudEvents/);
    refused(await post({ eventBridge: { busName: "b" }, headers: { "X-A": "1" } }), "headers", /no custom headers/);
    const neither = await post({ events: ["video_analysis.failed"] });
    expect(neither.status).toBe(400);
    expect(neither.json.error.details[0].field).toBe("url");
    // A URL still meets the guard (this relay refuses private targets): the bus never did.
    expect((await post({ url: "http://127.0.0.1:9/h" })).json.error.code).toBe("refused_target");

    const test = await h.call(via, { method: "POST", path: `/v1/webhooks/${own.json.id}/test` });
    expect(test.status).toBe(422);
    expect(test.json.error.message).toMatch(/EventBridge bus: a test send POSTs to URL webhooks only/);
    expect((await h.relay.store.listWebhooks()).map((w) => w.url).sort()).toEqual([
      "acs:eventbridge:cn-beijing:1234567890123456:eventbus/relay-events",
      "acs:eventbridge:cn-hangzhou:42:eventbus/Bus-2",
    ]);
  });

  it("without FC_REGION/FC_ACCOUNT_ID the region and account must be passed; PATCH moves between a URL and a bus", async () => {
    const h = await apiHarness();
    const post = (body: unknown) => h.call(via, { method: "POST", path: "/v1/webhooks", body });
    refused(
      await post({ eventBridge: { busName: "b" } }),
      "eventBridge.region",
      /does not know its own region and account here .*pass eventBridge\.region and eventBridge\.accountId/,
    );
    refused(await post({ eventBridge: { busName: "b", region: "cn-hangzhou" } }), "eventBridge.accountId");
    const hook = await post({ url: "http://127.0.0.1:9/h", format: "cloudevents-binary", headers: { "X-A": "1" } });
    const path = `/v1/webhooks/${hook.json.id}`;
    const patch = (body: unknown) => h.call(via, { method: "PATCH", path, body });
    const bus = { busName: "b", region: "cn-hangzhou", accountId: "42" };
    refused(await patch({ eventBridge: bus }), "headers", /no custom headers/);
    const moved = await patch({ eventBridge: bus, headers: {} });
    expect(moved.json).toMatchObject({
      url: "acs:eventbridge:cn-hangzhou:42:eventbus/b",
      format: null,
      eventBridge: bus,
    });
    refused(await patch({ format: "cloudevents-structured" }), "format");
    refused(await patch({ headers: { "X-A": "1" } }), "headers");
    refused(await patch({ eventBridge: { busName: "default" } }), "eventBridge.busName");
    const back = await patch({ url: "http://127.0.0.1:9/back" });
    expect(back.json).toMatchObject({ url: "http://127.0.0.1:9/back", format: "standard", eventBridge: null });
    expect((await h.relay.store.getWebhook(hook.json.id))?.eventBridge).toBeUndefined();
  });
});

describe("the test send in each format", () => {
  it("frames webhook.test as the webhook's format: the SDK reads it, standardwebhooks verifies it", async () => {
    const h = await apiHarness();
    let secrets: string[] = [];
    const rx = await startReceiver({ secret: () => secrets, now: () => Date.now() });
    for (const format of ["standard", "cloudevents-structured", "cloudevents-binary"]) {
      const hook = await h.call("node", { method: "POST", path: "/v1/webhooks", body: { url: rx.url, format } });
      secrets = [hook.json.secret];
      const sent = await h.call("node", { method: "POST", path: `/v1/webhooks/${hook.json.id}/test` });
      expect(sent.json.delivered, sent.text).toBe(true);
      const received = rx.received.at(-1);
      if (!received) throw new Error("nothing arrived");
      expect(received.verified, received.verifyError).toBeDefined();
      expect(received.headers["webhook-id"]).toBe(sent.json.messageId);
      if (format === "standard") {
        expect(JSON.parse(received.body)).toMatchObject({ type: "webhook.test", data: { webhookId: hook.json.id } });
        continue;
      }
      const event = attributesOf(receivedCloudEvent(received));
      expect(event).toEqual({
        specversion: "1.0",
        id: sent.json.messageId,
        source: "urn:quanmiao-relay",
        type: "webhook.test",
        subject: hook.json.id,
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        datacontenttype: "application/json",
        data: { webhookId: hook.json.id },
      });
    }
  });
});
