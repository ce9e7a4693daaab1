/**
 * Every webhook format end to end: a task finishes on the simulator, the relay delivers it to one
 * receiver per format, and each request is verified with `standardwebhooks` (signature over the
 * exact bytes) and, in a CloudEvents format, read with the `cloudevents` SDK's HTTP.toEvent, every
 * attribute checked. Replays and resends frame the message alike, with the same id.
 */
import { describe, expect, it } from "vitest";
import { resendEvent } from "../../../lib/resend.js";
import type { WebhookFormat } from "../../../lib/store/store.js";
import { attributesOf, receivedCloudEvent } from "../../support/cloudevents.js";
import { relayHarness, type StoreKind } from "../../support/relay.js";

const WORKSPACE = "llm-ce";

async function finishOneTask(store: StoreKind, formats: readonly WebhookFormat[]) {
  const h = await relayHarness({ store });
  const subscribers = await Promise.all(formats.map((format) => h.subscriber({ request: { format } })));
  const task = h.sim.addTask(WORKSPACE, { outcome: "SUCCESSED", runMs: 0 });
  await h.register({ workspaceId: WORKSPACE, taskId: task.taskId });
  await h.runUntil(() => subscribers.every((s) => s.received.length === 1), 10_000, 20);
  const [event] = await h.store.listEventsForTask(WORKSPACE, task.taskId);
  if (!event) throw new Error("no event was written");
  return { h, subscribers, task, event };
}

describe("webhook formats, delivered end to end", () => {
  it("standard, cloudevents-structured and cloudevents-binary on SQLite: signed over the bytes sent, every attribute as the SDK reads it", async () => {
    const { h, subscribers, task, event } = await finishOneTask("sqlite", [
      "standard",
      "cloudevents-structured",
      "cloudevents-binary",
    ]);
    const [standard, structured, binary] = subscribers.map((s) => s.received[0]);
    if (!standard || !structured || !binary) throw new Error("a receiver got nothing");
    // Standard: the stored bytes as they were, as before formats.
    expect(standard.body).toBe(event.body);
    expect(standard.headers["content-type"]).toBe("application/json");
    expect(Object.keys(standard.headers).filter((n) => n.startsWith("ce-"))).toEqual([]);
    const data = (JSON.parse(event.body) as { data: Record<string, unknown> }).data;
    expect(data).toMatchObject({ workspaceId: WORKSPACE, taskId: task.taskId, taskStatus: "SUCCESSED" });

    expect(structured.headers["content-type"]).toBe("application/cloudevents+json");
    expect(binary.headers["content-type"]).toBe("application/json");
    expect(binary.headers["ce-specversion"]).toBe("1.0");
    expect(JSON.parse(binary.body)).toEqual(data);
    for (const [received, subscriber] of [
      [structured, subscribers[1]],
      [binary, subscribers[2]],
    ] as const) {
      // The receiver verified the signature with standardwebhooks, over the body as it arrived.
      expect(received.verified, received.verifyError).toBeDefined();
      const msgId = received.headers["webhook-id"];
      const [delivery] = (await h.store.listDeliveries({ webhookId: subscriber?.webhook.id, limit: 10 })).items;
      expect(msgId).toBe(delivery?.id);
      expect(attributesOf(receivedCloudEvent(received))).toEqual({
        specversion: "1.0",
        id: msgId,
        source: `urn:quanmiao-relay:workspace:${WORKSPACE}`,
        type: "video_analysis.succeeded",
        subject: task.taskId,
        time: new Date(event.createdAtMs).toISOString(),
        datacontenttype: "application/json",
        data,
      });
    }
  });

  it("a replayed delivery and a resent event go out in the webhook's format, with the same message id", async () => {
    const { h, subscribers, event } = await finishOneTask("sqlite", ["cloudevents-structured", "cloudevents-binary"]);
    for (const s of subscribers) {
      const [delivery] = (await h.store.listDeliveries({ webhookId: s.webhook.id, limit: 10 })).items;
      if (!delivery) throw new Error("no delivery");
      if (s.webhook.format === "cloudevents-structured") await h.store.replayDelivery(delivery.id, h.clock.now());
    }
    await resendEvent(h.store, event.id, h.clock.now(), subscribers[1]?.webhook.id);
    await h.runUntil(() => subscribers.every((s) => s.received.length === 2), 10_000, 20);
    for (const s of subscribers) {
      const [first, again] = s.received.map((r) => attributesOf(receivedCloudEvent(r)));
      expect(again).toEqual(first);
      expect(s.received[1]?.headers["content-type"]).toBe(s.received[0]?.headers["content-type"]);
      expect(s.received[1]?.verified, s.received[1]?.verifyError).toBeDefined();
    }
  });

  it("cloudevents-binary on the Tablestore emulator: the format is read back from the store and honoured", async () => {
    const { subscribers, task, event } = await finishOneTask("tablestore", ["cloudevents-binary"]);
    const received = subscribers[0]?.received[0];
    if (!received) throw new Error("nothing arrived");
    expect(received.verified, received.verifyError).toBeDefined();
    expect(attributesOf(receivedCloudEvent(received))).toMatchObject({
      id: received.headers["webhook-id"],
      source: `urn:quanmiao-relay:workspace:${WORKSPACE}`,
      type: "video_analysis.succeeded",
      subject: task.taskId,
      time: new Date(event.createdAtMs).toISOString(),
      data: (JSON.parse(event.body) as { data: unknown }).data,
    });
  }, 60_000);
});
