/**
 * The emulator against Alibaba's own client: the SDK's putEvents is taken (so the emulator speaks
 * the protocol the SDK speaks) and a wrong key is refused; the relay's publisher is taken the same way.
 */
import { once } from "node:events";
import { createRequire } from "node:module";
import { connect } from "node:net";
import { describe, expect, it, onTestFinished } from "vitest";
import { EVENTBRIDGE_EMULATOR_CREDENTIAL, startEventBridgeEmulator } from "../../../dev/eventbridge-emulator/server.js";
import { systemClock } from "../../../lib/clock.js";
import { createEventBridgePublisher } from "../../../lib/eventbridge/client.js";
import { staticCredentials } from "../../../lib/quanmiao/credentials.js";

const require = createRequire(import.meta.url);
// biome-ignore lint/suspicious/noExplicitAny: the SDK's types are not worth importing for a test client
const SDK: any = require("@alicloud/eventbridge");

const STS = { accessKeyId: "STS.eb-key", accessKeySecret: "sts-secret", securityToken: "sts-token" };

async function emulator() {
  const e = await startEventBridgeEmulator({ buses: ["orders"], credentials: [EVENTBRIDGE_EMULATOR_CREDENTIAL, STS] });
  onTestFinished(() => e.close());
  return e;
}

const sdkClient = (url: string, credential: { accessKeyId: string; accessKeySecret: string; securityToken?: string }) =>
  new SDK.default(new SDK.Config({ ...credential, endpoint: new URL(url).host, protocol: "HTTP" }));

const cloudEvent = (id: string, bus = "orders") =>
  new SDK.CloudEvent({
    id,
    source: "urn:test",
    type: "test.made",
    subject: "s",
    datacontenttype: "application/json",
    data: Buffer.from(JSON.stringify({ n: 1 })),
    extensions: { aliyuneventbusname: bus },
  });

describe("the EventBridge emulator", () => {
  it("takes the SDK's own putEvents, signed with an AccessKey or STS credentials, and answers each entry", async () => {
    const e = await emulator();
    for (const credential of [EVENTBRIDGE_EMULATOR_CREDENTIAL, STS]) {
      const answer = await sdkClient(e.url, credential).putEvents([
        cloudEvent(`ok-${credential.accessKeyId.length}`),
        cloudEvent("x", "nobus"),
      ]);
      expect(answer.failedEntryCount).toBe(1);
      expect(answer.entryList[0].errorCode).toBeFalsy();
      expect(answer.entryList[1].errorCode).toBe("EventBusNotExist");
    }
    expect(e.events.map((ev) => [ev.id, ev.bus, ev.data])).toEqual([
      ["ok-15", "orders", { n: 1 }],
      ["ok-10", "orders", { n: 1 }],
    ]);
  });

  it("refuses the SDK with a wrong secret or token, with Alibaba's codes", async () => {
    const e = await emulator();
    const wrong = { ...EVENTBRIDGE_EMULATOR_CREDENTIAL, accessKeySecret: "not-it" };
    await expect(sdkClient(e.url, wrong).putEvents([cloudEvent("a")])).rejects.toMatchObject({
      code: "SignatureDoesNotMatch",
    });
    await expect(
      sdkClient(e.url, { ...STS, securityToken: "stale" }).putEvents([cloudEvent("a")]),
    ).rejects.toMatchObject({
      code: "SecurityTokenInvalid",
    });
    await expect(
      sdkClient(e.url, { ...EVENTBRIDGE_EMULATOR_CREDENTIAL, accessKeyId: "nobody" }).putEvents([cloudEvent("a")]),
    ).rejects.toMatchObject({ code: "InvalidAccessKeyId" });
    expect(e.events).toEqual([]);
  });

  it("takes the relay's publisher (its own signer) and refuses it when its key is wrong", async () => {
    const e = await emulator();
    const body = JSON.stringify([
      { specversion: "1.0", id: "msg-1", source: "urn:x", type: "t", aliyuneventbusname: "orders", data: {} },
      { specversion: "1.0", id: "_bad", source: "urn:x", type: "t", aliyuneventbusname: "orders", data: {} },
    ]);
    const publish = async (credential: typeof STS | typeof EVENTBRIDGE_EMULATOR_CREDENTIAL) => {
      const p = createEventBridgePublisher({
        credentials: staticCredentials(credential),
        clock: systemClock,
        timeoutMs: 2_000,
        endpoint: () => e.url,
      });
      try {
        return await p.putEvents({ region: "cn-hangzhou", accountId: "1" }, body);
      } finally {
        await p.close();
      }
    };
    for (const credential of [EVENTBRIDGE_EMULATOR_CREDENTIAL, STS]) {
      const answer = await publish(credential);
      expect(answer).toMatchObject({ kind: "answered", statusCode: 200 });
      if (answer.kind !== "answered") throw new Error("unreachable");
      expect(answer.entries.map((x) => x.errorCode)).toEqual([undefined, "InvalidArgument"]);
    }
    expect(await publish({ ...STS, accessKeySecret: "wrong" })).toMatchObject({
      kind: "refused",
      statusCode: 403,
      code: "SignatureDoesNotMatch",
    });
  });

  it("refuses a request over 16 events or 256 KiB, and fails an event over 64 KiB alone", async () => {
    const e = await emulator();
    const p = createEventBridgePublisher({
      credentials: staticCredentials(EVENTBRIDGE_EMULATOR_CREDENTIAL),
      clock: systemClock,
      timeoutMs: 2_000,
      endpoint: () => e.url,
    });
    onTestFinished(() => p.close());
    const ev = (id: string, data: unknown = {}) => ({
      specversion: "1.0",
      id,
      source: "s",
      type: "t",
      aliyuneventbusname: "orders",
      data,
    });
    const at = { region: "r1", accountId: "1" };
    const many = JSON.stringify(Array.from({ length: 17 }, (_, i) => ev(`e${i}`)));
    expect(await p.putEvents(at, many)).toMatchObject({ kind: "refused", statusCode: 400 });
    const big = JSON.stringify(Array.from({ length: 5 }, (_, i) => ev(`b${i}`, "x".repeat(60_000))));
    expect(await p.putEvents(at, big)).toMatchObject({ kind: "refused", code: "RequestEntityTooLarge" });
    const answer = await p.putEvents(at, JSON.stringify([ev("huge", "x".repeat(70_000)), ev("small")]));
    if (answer.kind !== "answered") throw new Error(`expected entries, got ${answer.kind}`);
    expect(answer.entries.map((x) => x.errorCode)).toEqual(["EventSizeExceeded", undefined]);
  });

  it("answers a request target no URL parser takes (`//[`) and goes on: under npm start it shares the sandbox's process", async () => {
    const e = await emulator();
    const socket = connect(Number(new URL(e.url).port), "127.0.0.1");
    let got = "";
    socket.on("data", (d) => {
      got += d;
    });
    await once(socket, "connect");
    socket.end(`POST //[ HTTP/1.1\r\nHost: ${new URL(e.url).host}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n[]`);
    await once(socket, "close");
    expect(got).toMatch(/^HTTP\/1\.1 404 /);
    const answer = await sdkClient(e.url, EVENTBRIDGE_EMULATOR_CREDENTIAL).putEvents([cloudEvent("after")]);
    expect(answer.failedEntryCount).toBe(0);
  });
});
