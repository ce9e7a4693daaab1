/** Edges of the event-driven integrations a review found: a misspelt bus field, a part index past
 * the safe integers, a bus host that does not resolve. */

import type { Dispatcher } from "undici";
import { describe, expect, it, onTestFinished } from "vitest";
import { eventSource } from "../../lib/cloudevents.js";
import { circuitKey, parseCircuit } from "../../lib/delivery/circuit.js";
import { createEventBridgePublisher, withoutToken } from "../../lib/eventbridge/client.js";
import { finishedParts, PART_PATTERN } from "../../lib/progress-parts.js";
import { staticCredentials } from "../../lib/quanmiao/credentials.js";
import { SqliteStore } from "../../lib/store/sqlite.js";
import { checkEventBridgeTarget } from "../../lib/webhook-targets.js";
import { createWebhook, patchWebhook } from "../../lib/webhooks.js";
import { FakeClock } from "../support/fake-clock.js";

const OWN = { region: "cn-hangzhou", accountId: "1111111111111111" };

describe("event-driven integrations at their edges", () => {
  // The OpenAPI document says additionalProperties: false; the check keeps only the keys it knows,
  // so a misspelt accountId publishes to the relay's own account without a word.
  it("refuses an eventBridge object with a key it does not know (a misspelt accountId)", () => {
    expect(() => checkEventBridgeTarget({ busName: "orders", accountID: "2222222222222222" }, OWN)).toThrow(
      /accountID/,
    );
  });

  // An item's own `index` is used as long as Number.isInteger says so: 1e21 is an integer, and its
  // string form is not a part name the event's own schema (PART_PATTERN) accepts.
  it("names every part so that the event's own schema accepts it", () => {
    const raw = { payload: { output: { videoGenerateResults: [{ index: 1e21, generateFinished: true }] } } };
    const parts = finishedParts(raw);
    expect(parts.map((p) => p.part)).toHaveLength(1);
    expect(parts.every((p) => PART_PATTERN.test(p.part))).toBe(true);
  });

  // A bus in a region that does not exist fails DNS (ENOTFOUND). URL deliveries class that as "dns",
  // which counts towards the circuit; the PutEvents client says "other", which does not, so such a
  // bus's circuit never opens and the pass never learns it is unreachable.
  it("classes a name that does not resolve as a dns failure, which the circuit counts", async () => {
    const dispatcher = {
      request: async () => {
        throw Object.assign(new Error("getaddrinfo ENOTFOUND 1.eventbridge.xx-nowhere-1.aliyuncs.com"), {
          code: "ENOTFOUND",
        });
      },
    } as unknown as Dispatcher;
    const publisher = createEventBridgePublisher({
      credentials: staticCredentials({ accessKeyId: "AK", accessKeySecret: "SK" }),
      clock: new FakeClock(),
      timeoutMs: 1_000,
      endpoint: () => "https://1.eventbridge.xx-nowhere-1.aliyuncs.com",
      dispatcher,
    });
    const outcome = await publisher.putEvents({ region: "xx-nowhere-1", accountId: "1" }, "[]");
    expect(outcome).toMatchObject({ kind: "failed", failure: "dns" });
  });
});

describe("EventBridge answers kept on deliveries", () => {
  it("never keep an STS token a gateway echoed back in its string to sign", () => {
    const echoed = JSON.stringify({
      code: "SignatureDoesNotMatch",
      message:
        "The request signature does not match. String to sign: POST\n\napplication/json\nx-acs-security-token:CAIS1234secretTOKEN\n/openapi/putEvents",
    });
    const kept = withoutToken(echoed);
    expect(kept).not.toContain("CAIS1234secretTOKEN");
    expect(kept).toContain("x-acs-security-token:[redacted]");
    expect(withoutToken('{"x-acs-security-token": "abc.def"}')).toBe('{"x-acs-security-token": "[redacted]"}');
    expect(withoutToken("no token here")).toBe("no token here");
  });
});

describe("a subscription moved to another destination", () => {
  it("starts with a clean record: its circuit closed and forgotten, its failure clock cleared", async () => {
    const store = new SqliteStore(":memory:");
    onTestFinished(() => store.close());
    const clock = new FakeClock();
    const deps = { store, clock, allowPrivateTargets: true, ownCloud: OWN };
    const { webhook } = await createWebhook(deps, { url: "http://127.0.0.1:9/hook" });
    await store.updateWebhook({ ...webhook, failingSinceMs: clock.now() - 86_400_000 });
    const open = JSON.stringify({ failures: 7, openUntilMs: clock.now() + 60_000, cooldownMs: 60_000 });
    await store.compareAndSetSetting(circuitKey(webhook.id), undefined, open);
    // Other changes keep what the endpoint's record says.
    await patchWebhook(deps, webhook.id, { events: ["video_analysis.failed"] });
    expect(await store.getSetting(circuitKey(webhook.id))).toBe(open);
    const moved = await patchWebhook(deps, webhook.id, { eventBridge: { busName: "relay-events" } });
    expect(moved.url).toBe("acs:eventbridge:cn-hangzhou:1111111111111111:eventbus/relay-events");
    expect(moved.failingSinceMs).toBeUndefined();
    expect(parseCircuit(await store.getSetting(circuitKey(webhook.id)))).toEqual({ failures: 0 });
  });
});

describe("a CloudEvent's source", () => {
  it("is made even of a workspace id with a lone surrogate (a stored row registration would refuse)", () => {
    expect(eventSource("llm-\uD800x")).toBe("urn:quanmiao-relay:workspace:llm-%EF%BF%BDx");
    expect(eventSource("llm a/b")).toBe("urn:quanmiao-relay:workspace:llm%20a%2Fb");
  });
});
