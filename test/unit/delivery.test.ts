import fc from "fast-check";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { checkTarget, forbiddenReason } from "../../lib/delivery/guard.js";
import {
  attemptDelay,
  boundedRetryAfter,
  DEFAULT_RETRY_SCHEDULE,
  parseRetrySchedule,
} from "../../lib/delivery/schedule.js";
import { signatureHeader, webhookHeaders } from "../../lib/delivery/sign.js";
import { RefusedTargetError } from "../../lib/errors.js";
import { buildEvent, webhookWants } from "../../lib/events.js";
import { deliveryId, eventId } from "../../lib/ids.js";
import { activeSecrets, newSecret, rotate } from "../../lib/secrets.js";
import type { TaskRow, WebhookRow, WebhookSecret } from "../../lib/store/store.js";

describe("Standard Webhooks signatures", () => {
  // The two official vectors (standard-webhooks repo; shared/reference/webhooks.md §3).
  it("vector A", () => {
    expect(
      signatureHeader(
        ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330_000,
        '{"test": 2432232314}',
      ),
    ).toBe("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  });

  it("vector B", () => {
    expect(
      signatureHeader(
        ["whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"],
        "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
        1649367553_000,
        '{"email":"test@example.com","username":"test_user"}',
      ),
    ).toBe("v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=");
  });

  it("signs byte for byte as the standardwebhooks package does, on random ids, times, bodies and secrets", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 24, maxLength: 64 }),
        fc.stringMatching(/^msg_[A-Za-z0-9_-]{1,40}$/),
        fc.integer({ min: 0, max: 4_102_444_800_000 }),
        fc.string({ unit: "binary", maxLength: 2_000 }),
        (key, msgId, nowMs, body) => {
          const secret = `whsec_${Buffer.from(key).toString("base64")}`;
          expect(signatureHeader([secret], msgId, nowMs, body)).toBe(
            new Webhook(secret).sign(msgId, new Date(nowMs), body),
          );
        },
      ),
      { numRuns: 500 },
    );
  });

  it("during rotation both secrets sign, space-separated, and a receiver holding either verifies", () => {
    const [oldSecret, newSecretValue] = [newSecret(), newSecret()];
    const now = Date.now();
    const headers = webhookHeaders({
      msgId: "msg_x",
      secrets: [newSecretValue, oldSecret],
      nowMs: now,
      body: "{}",
      custom: { "X-Tenant": "a", "Webhook-Id": "forged" },
    });
    expect(headers["webhook-signature"]?.split(" ")).toHaveLength(2);
    expect(headers["webhook-id"]).toBe("msg_x");
    expect(headers["X-Tenant"]).toBe("a");
    expect(headers["Webhook-Id"]).toBeUndefined();
    for (const s of [oldSecret, newSecretValue]) expect(() => new Webhook(s).verify("{}", headers)).not.toThrow();
  });

  it("secrets are whsec_ + base64 of 32 bytes; rotation keeps the old one 24 h", () => {
    const s = newSecret();
    expect(s).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(s.slice(6), "base64")).toHaveLength(32);
    const t0 = 1_000_000;
    const rotated = rotate([{ secret: "a" }], "b", t0);
    expect(rotated).toEqual([{ secret: "b" }, { secret: "a", expiresAtMs: t0 + 86_400_000 }]);
    expect(activeSecrets(rotated, t0 + 86_399_999)).toEqual(["b", "a"]);
    expect(activeSecrets(rotated, t0 + 86_400_000)).toEqual(["b"]);
    expect(rotate(rotated, "c", t0 + 90_000_000)).toEqual([
      { secret: "c" },
      { secret: "b", expiresAtMs: t0 + 90_000_000 + 86_400_000 },
    ]);
  });

  it("keeps at most 4 previous secrets signing: 400 rotations in a day made a header receivers refuse (431)", () => {
    const t0 = 1_000_000;
    let secrets: WebhookSecret[] = [{ secret: "s0" }];
    for (let i = 1; i <= 400; i++) secrets = rotate(secrets, `s${i}`, t0 + i * 1_000);
    expect(secrets.map((s) => s.secret)).toEqual(["s400", "s399", "s398", "s397", "s396"]);
    expect(activeSecrets(secrets, t0 + 400_000)).toEqual(["s400", "s399", "s398", "s397", "s396"]);
    // A list stored before the cap signs with the newest five alone.
    const stored = Array.from({ length: 50 }, (_, i) => ({ secret: `old${i}`, expiresAtMs: t0 + 86_400_000 + i }));
    expect(activeSecrets([{ secret: "now" }, ...stored], t0)).toEqual(["now", "old49", "old48", "old47", "old46"]);
  });
});

describe("retry schedule", () => {
  it("parses durations; the default is Svix's", () => {
    expect(parseRetrySchedule("0,5s,5m,30m,2h,5h,10h,10h")).toEqual([...DEFAULT_RETRY_SCHEDULE]);
    expect(() => parseRetrySchedule("0,soon")).toThrow(/"soon" is not a duration/);
  });

  it("jitters ±20 % and ends after the last entry", () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (r) => {
        const d = attemptDelay(DEFAULT_RETRY_SCHEDULE, 3, () => r) ?? -1;
        expect(d).toBeGreaterThanOrEqual(240_000);
        expect(d).toBeLessThanOrEqual(360_000);
      }),
    );
    expect(attemptDelay(DEFAULT_RETRY_SCHEDULE, 1, () => 0.9)).toBe(0);
    expect(attemptDelay(DEFAULT_RETRY_SCHEDULE, 9, () => 0.5)).toBeUndefined();
  });

  it("Retry-After is bounded to [step, 2 × step]", () => {
    expect(boundedRetryAfter(1_000, 5_000)).toBe(5_000);
    expect(boundedRetryAfter(7_000, 5_000)).toBe(7_000);
    expect(boundedRetryAfter(3_600_000, 5_000)).toBe(10_000);
  });
});

describe("SSRF address policy", () => {
  it.each([
    ["127.0.0.1", /loopback/],
    ["10.1.2.3", /private/],
    ["172.20.0.1", /private/],
    ["192.168.0.10", /private/],
    ["169.254.169.254", /link-local/],
    ["100.100.100.200", /carrier-grade NAT/],
    ["100.64.0.1", /carrier-grade NAT/],
    ["0.0.0.0", /reserved/],
    ["224.0.0.1", /multicast/],
    ["255.255.255.255", /broadcast/],
    ["::1", /loopback/],
    ["::", /unspecified/],
    ["fd00:ec2::254", /unique-local/],
    ["fe80::1", /link-local/],
    ["::ffff:127.0.0.1", /loopback address, in IPv6 form/],
    ["::ffff:7f00:1", /loopback address, in IPv6 form/],
    ["::ffff:a9fe:a9fe", /link-local.*IPv6 form/],
    ["64:ff9b::a64:1", /private address, in IPv6 form/],
    ["2002:7f00:1::", /loopback address, in IPv6 form/],
    // Whatever the text form: a resolver may answer uncompressed, or with a zone.
    ["0:0:0:0:0:ffff:7f00:1", /loopback address, in IPv6 form/],
    ["0:0:0:0:0:FFFF:A9FE:A9FE", /link-local.*IPv6 form/],
    ["fe80::1%eth0", /link-local/],
    // IPv4-compatible ::/96: deprecated, refused whole.
    ["::7f00:1", /loopback address, in IPv6 form/],
    ["::127.0.0.1", /loopback address, in IPv6 form/],
    ["::a9fe:a9fe", /link-local.*IPv6 form/],
    ["::808:808", /IPv4-compatible/],
    // IPv4-translated ::ffff:0:0:0/96: refused whole.
    ["::ffff:0:7f00:1", /loopback address, in IPv6 form/],
    ["::ffff:0:127.0.0.1", /loopback address, in IPv6 form/],
    ["::ffff:0:808:808", /IPv4-translated/],
    // NAT64, both prefixes: refused whole, as before.
    ["64:ff9b::7f00:1", /loopback address, in IPv6 form/],
    ["64:ff9b::808:808", /NAT64/],
    ["64:ff9b:1::a00:1", /NAT64/],
    ["64:ff9b:1:a00:1::", /NAT64/],
    // 6to4 and Teredo (client address inverted): refused whole.
    ["2002:a00:1::1", /private address, in IPv6 form/],
    ["2002:808:808::1", /6to4/],
    ["2001:0:1:2::80ff:fffe", /loopback address, in IPv6 form/],
    ["2001:0:4136:e378:8000:63bf:f7f7:f7f7", /Teredo/],
    // Special-purpose IPv6 ranges that reach no public host.
    ["2001:db8::1", /documentation/],
    ["3fff:fff::1", /documentation/],
    ["2001:2:0:ffff::1", /benchmarking/],
    ["2001:1f::1", /ORCHID/],
    ["2001:2f::1", /ORCHID/],
    ["5f00:1:2::3", /SRv6/],
  ])("refuses %s", (address, reason) => {
    expect(forbiddenReason(address)).toMatch(reason);
  });

  it.each([
    "93.184.216.34",
    "8.8.8.8",
    "100.63.255.255",
    "100.128.0.1",
    "2606:4700::1111",
    "::ffff:8.8.8.8",
    "::ffff:808:808",
    "2001:4860:4860::8888",
    // Just outside the ranges above.
    "2001:3::1",
    "3fff:1000::1",
    "5f01::1",
  ])("allows %s", (address) => {
    expect(forbiddenReason(address)).toBeUndefined();
  });

  it("refuses any IPv6 form of a refused IPv4 address, however written", () => {
    const refusedV4 = fc.oneof(
      fc.constantFrom("127.0.0.1", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "100.100.100.200"),
      fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 })).map(([c, d]) => `127.0.${c}.${d}`),
    );
    const word = (a: number, b: number) => ((a << 8) | b).toString(16);
    fc.assert(
      fc.property(
        refusedV4,
        fc.constantFrom("::", "::ffff:", "::ffff:0:", "64:ff9b::", "0:0:0:0:0:ffff:"),
        fc.boolean(),
        (v4, prefix, dotted) => {
          const [a = 0, b = 0, c = 0, d = 0] = v4.split(".").map(Number);
          const address = dotted ? `${prefix}${v4}` : `${prefix}${word(a, b)}:${word(c, d)}`;
          expect(forbiddenReason(address), address).toBeDefined();
          const sixToFour = `2002:${word(a, b)}:${word(c, d)}::1`;
          expect(forbiddenReason(sixToFour), sixToFour).toBeDefined();
        },
      ),
    );
  });

  it("tells the caller the kind of address a name resolves to, never the address", async () => {
    const resolve = async () => [
      { address: "93.184.216.34", family: 4 as const },
      { address: "10.0.0.1", family: 4 as const },
    ];
    const refusal = await checkTarget("http://private.test/h", { allowPrivate: false, resolve }).catch((e) => e);
    expect(refusal).toBeInstanceOf(RefusedTargetError);
    expect(refusal.message).toMatch(/^private\.test resolves to a private address; /);
    expect(refusal.message).not.toContain("10.0.0.1");
    expect(refusal.forField("url").message).not.toContain("10.0.0.1");
    // The operator's log gets the address from here.
    expect(refusal.address).toBe("10.0.0.1");
    await expect(checkTarget("http://[::ffff:0:127.0.0.1]/", { allowPrivate: false })).rejects.toThrow(
      /^::ffff:0:7f00:1 is a loopback address, in IPv6 form/,
    );
  });
});

describe("events", () => {
  const task = {
    workspaceId: "llm-a",
    taskId: "t1",
    status: "RUNNING",
    metadata: { orderId: 42 },
  } as unknown as TaskRow;

  it("builds the documented body with the API's data verbatim and a deterministic id", () => {
    const raw = { taskId: "t1", taskStatus: "SUCCESSED", unknownField: [1, { b: "2" }] };
    const event = buildEvent({
      type: "video_analysis.succeeded",
      task,
      nowMs: Date.parse("2026-11-25T12:00:00Z"),
      raw,
      taskStatus: "SUCCESSED",
    });
    expect(JSON.parse(event.body)).toEqual({
      type: "video_analysis.succeeded",
      timestamp: "2026-11-25T12:00:00.000Z",
      data: { workspaceId: "llm-a", taskId: "t1", taskStatus: "SUCCESSED", metadata: { orderId: 42 }, task: raw },
    });
    expect(event.id).toBe(eventId("llm-a", "t1", "video_analysis.succeeded"));
    expect(event.id).toMatch(/^evt_[0-9a-f]{32}$/);
    expect(deliveryId(event.id, "wh_1")).toBe(deliveryId(event.id, "wh_1"));
    expect(deliveryId(event.id, "wh_1")).not.toBe(deliveryId(event.id, "wh_2"));
    expect(eventId("a", "b\u0000c", "t")).not.toBe(eventId("a\u0000b", "c", "t"));
  });

  it("filters: disabled, workspace and type; no filter means the four terminal types", () => {
    const hook = { enabled: true, workspaceId: undefined, events: undefined } as WebhookRow;
    const ev = (type: string, workspaceId = "w") => ({ type, workspaceId });
    expect(webhookWants(hook, ev("video_analysis.expired"))).toBe(true);
    expect(webhookWants(hook, ev("video_analysis.running"))).toBe(false);
    expect(webhookWants({ ...hook, events: ["video_analysis.running"] }, ev("video_analysis.running"))).toBe(true);
    expect(webhookWants({ ...hook, workspaceId: "x" }, ev("video_analysis.failed"))).toBe(false);
    expect(webhookWants({ ...hook, enabled: false }, ev("video_analysis.failed"))).toBe(false);
  });
});
