import { describe, expect, it } from "vitest";
import { frameCloudEvent, headerValue } from "../../lib/delivery/framing.js";
import { InputError, InvalidValueError } from "../../lib/errors.js";
import { checkEventBridgeTarget, checkFormat, eventBridgeUrl, webhookTarget } from "../../lib/webhook-targets.js";

const OWN = { region: "cn-beijing", accountId: "1234567890123456" };
const deps = { allowPrivateTargets: true, ownCloud: OWN };

function refusal(run: () => unknown): { field: string | undefined; message: string; invalidValue: boolean } {
  try {
    run();
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    return { field: error.field, message: error.message, invalidValue: error instanceof InvalidValueError };
  }
  throw new Error("nothing was refused");
}

async function refusalOf(run: () => Promise<unknown>) {
  try {
    await run();
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    return { field: error.field, message: error.message, invalidValue: error instanceof InvalidValueError };
  }
  throw new Error("nothing was refused");
}

describe("checkFormat", () => {
  it("takes the three formats and refuses anything else with 422 naming the field", () => {
    for (const f of ["standard", "cloudevents-structured", "cloudevents-binary"]) expect(checkFormat(f)).toBe(f);
    for (const bad of ["cloudevents", "Standard", "", 3, null]) {
      expect(refusal(() => checkFormat(bad))).toMatchObject({ field: "format", invalidValue: true });
    }
    expect(refusal(() => checkFormat("json", "--format")).message).toBe(
      '--format: must be one of standard, cloudevents-structured, cloudevents-binary; got "json"',
    );
  });
});

describe("checkEventBridgeTarget", () => {
  it("bus names follow EventBridge's rules: ≤ 127, a letter or digit first, then letters, digits, hyphens", () => {
    for (const ok of ["relay-events", "Bus1", "9-lives", "a".repeat(127)]) {
      expect(checkEventBridgeTarget({ busName: ok }, OWN).busName).toBe(ok);
    }
    for (const bad of ["", "-lead", "under_score", "dot.ted", "空", "a".repeat(128), 7, undefined]) {
      expect(refusal(() => checkEventBridgeTarget({ busName: bad }, OWN))).toMatchObject({
        field: "eventBridge.busName",
        invalidValue: true,
      });
    }
  });

  it("never echoes a control or bidi character it refuses", () => {
    expect(refusal(() => checkEventBridgeTarget({ busName: "bus\u202eevil" }, OWN)).message).toBe(
      'eventBridge.busName: "bus\\u202eevil" is not an event bus name: one starts with a letter or digit, and has only letters, digits and hyphens',
    );
  });

  it("refuses the cloud services' default bus, saying to use a custom one, and the reserved prefix", () => {
    expect(refusal(() => checkEventBridgeTarget({ busName: "default" }, OWN)).message).toMatch(
      /^eventBridge\.busName: "default" is the bus of Alibaba Cloud services' own events; custom applications publish to a custom bus/,
    );
    expect(refusal(() => checkEventBridgeTarget({ busName: "eventbridge-reserved-x" }, OWN)).message).toMatch(
      /reserved by EventBridge/,
    );
  });

  it("region and account: given ones are checked; absent ones are the relay's own; unknown ones must be passed", () => {
    expect(checkEventBridgeTarget({ busName: "b" }, OWN)).toEqual({ busName: "b", ...OWN });
    expect(checkEventBridgeTarget({ busName: "b", region: "cn-hangzhou", accountId: "42" }, OWN)).toEqual({
      busName: "b",
      region: "cn-hangzhou",
      accountId: "42",
    });
    for (const region of ["CN-Hangzhou", "cn_hangzhou", "hangzhou", "", 1]) {
      expect(refusal(() => checkEventBridgeTarget({ busName: "b", region }, OWN)).field).toBe("eventBridge.region");
    }
    for (const accountId of ["abc", "", "1".repeat(21), 1234567890123456]) {
      expect(refusal(() => checkEventBridgeTarget({ busName: "b", accountId }, OWN)).field).toBe(
        "eventBridge.accountId",
      );
    }
    expect(refusal(() => checkEventBridgeTarget({ busName: "b" }, undefined))).toEqual({
      field: "eventBridge.region",
      invalidValue: true,
      message:
        "eventBridge.region: the relay does not know its own region and account here (Function Compute sets FC_REGION and FC_ACCOUNT_ID): pass eventBridge.region and eventBridge.accountId",
    });
    expect(refusal(() => checkEventBridgeTarget({ busName: "b", region: "cn-shanghai" }, {})).message).toMatch(
      /its own account here .*: pass eventBridge\.accountId$/,
    );
    expect(refusal(() => checkEventBridgeTarget("bus", OWN)).field).toBe("eventBridge");
  });

  it("the bus's url is its ARN-like name", () => {
    expect(eventBridgeUrl({ busName: "b", region: "cn-hangzhou", accountId: "42" })).toBe(
      "acs:eventbridge:cn-hangzhou:42:eventbus/b",
    );
  });
});

describe("webhookTarget", () => {
  it("exactly one of a URL and a bus", async () => {
    expect(await refusalOf(() => webhookTarget(deps, {}, {}, undefined))).toMatchObject({
      field: "url",
      invalidValue: false,
    });
    expect(
      await refusalOf(() =>
        webhookTarget(deps, { url: "http://127.0.0.1/h", eventBridge: { busName: "b" } }, {}, undefined),
      ),
    ).toMatchObject({ field: "eventBridge", invalidValue: true });
  });

  it("a bus takes no format and no custom headers; the SSRF guard never sees its url", async () => {
    const strict = { ...deps, allowPrivateTargets: false };
    expect(await webhookTarget(strict, { eventBridge: { busName: "b" } }, {}, undefined)).toEqual({
      url: "acs:eventbridge:cn-beijing:1234567890123456:eventbus/b",
      format: undefined,
      eventBridge: { busName: "b", ...OWN },
    });
    const format = await refusalOf(() =>
      webhookTarget(deps, { eventBridge: { busName: "b" }, format: "standard" }, {}, undefined),
    );
    expect(format).toMatchObject({ field: "format", invalidValue: true });
    expect(format.message).toMatch(/always receives CloudEvents/);
    expect(
      await refusalOf(() => webhookTarget(deps, { eventBridge: { busName: "b" } }, { "X-Tenant": "a" }, undefined)),
    ).toMatchObject({ field: "headers", invalidValue: true });
  });

  it("a URL webhook's format: standard is stored as absent; binary refuses ce-* custom headers", async () => {
    const url = "http://127.0.0.1/h";
    expect((await webhookTarget(deps, { url, format: "standard" }, {}, undefined)).format).toBeUndefined();
    expect((await webhookTarget(deps, { url, format: "cloudevents-binary" }, { "X-A": "1" }, undefined)).format).toBe(
      "cloudevents-binary",
    );
    expect(
      await refusalOf(() =>
        webhookTarget(deps, { url, format: "cloudevents-binary" }, { "Ce-Tenant": "a" }, undefined),
      ),
    ).toMatchObject({ field: "headers", invalidValue: true });
    // Structured sends no ce-* headers of its own, so a custom one is only a header.
    expect(
      (await webhookTarget(deps, { url, format: "cloudevents-structured" }, { "Ce-Tenant": "a" }, undefined)).format,
    ).toBe("cloudevents-structured");
  });

  it("a change keeps what it does not say, and can move a subscription between a URL and a bus", async () => {
    const hook = { url: "http://127.0.0.1/h", format: "cloudevents-binary" as const, eventBridge: undefined };
    expect(await webhookTarget(deps, {}, {}, hook)).toEqual(hook);
    expect((await webhookTarget(deps, { format: null }, {}, hook)).format).toBeUndefined();
    const bus = await webhookTarget(deps, { eventBridge: { busName: "b" } }, {}, hook);
    expect(bus).toMatchObject({ format: undefined, eventBridge: { busName: "b" } });
    expect(await webhookTarget(deps, {}, {}, bus)).toEqual(bus);
    expect(await refusalOf(() => webhookTarget(deps, { format: "cloudevents-binary" }, {}, bus))).toMatchObject({
      field: "format",
    });
    expect(await webhookTarget(deps, { url: "http://127.0.0.1/back" }, {}, bus)).toEqual({
      url: "http://127.0.0.1/back",
      format: undefined,
      eventBridge: undefined,
    });
  });
});

describe("the binary mode's headers", () => {
  it("percent-encode what a header may not carry (HTTP binding §3.1.3.2), and nothing else", () => {
    expect(headerValue("video_analysis.succeeded")).toBe("video_analysis.succeeded");
    expect(headerValue("urn:quanmiao-relay:workspace:llm-1")).toBe("urn:quanmiao-relay:workspace:llm-1");
    expect(headerValue('task 1 "a" 50% 任务')).toBe("task%201%20%22a%22%2050%25%20%E4%BB%BB%E5%8A%A1");
    expect(decodeURIComponent(headerValue('task 1 "a" 50% 任务'))).toBe('task 1 "a" 50% 任务');
  });

  it("carry every attribute but the content type, which is the request's own", () => {
    const framed = frameCloudEvent(
      "cloudevents-binary",
      {
        specversion: "1.0",
        id: "msg_1",
        source: "urn:quanmiao-relay",
        type: "t",
        subject: "s",
        time: "2026-01-01T00:00:00.000Z",
        datacontenttype: "application/json",
      },
      { a: 1 },
    );
    expect(framed).toEqual({
      body: '{"a":1}',
      contentType: "application/json",
      headers: {
        "ce-specversion": "1.0",
        "ce-id": "msg_1",
        "ce-source": "urn:quanmiao-relay",
        "ce-type": "t",
        "ce-subject": "s",
        "ce-time": "2026-01-01T00:00:00.000Z",
      },
    });
  });
});
