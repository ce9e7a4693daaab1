/** The EventBridge emulator with a publisher pointed at it, and EventBridge subscriptions and deliveries for tests. */
import { join } from "node:path";
import { onTestFinished } from "vitest";
import {
  EVENTBRIDGE_EMULATOR_CREDENTIAL,
  type EventBridgeEmulator,
  type EventBridgeEmulatorOptions,
  startEventBridgeEmulator,
} from "../../dev/eventbridge-emulator/server.js";
import { seededRandom } from "../../dev/seeded-random.js";
import type { Clock } from "../../lib/clock.js";
import { loadConfig } from "../../lib/config.js";
import { type DeliveryRun, type EventBridgeDeps, openDeliveryRun } from "../../lib/delivery/deliver.js";
import { deliverDue } from "../../lib/delivery/loop.js";
import { type DeliveryCounts, emptyCounts } from "../../lib/delivery/pass-counts.js";
import { WebhookSender } from "../../lib/delivery/send.js";
import { createEventBridgePublisher } from "../../lib/eventbridge/client.js";
import { deliveryId, eventId } from "../../lib/ids.js";
import { staticCredentials } from "../../lib/quanmiao/credentials.js";
import { SqliteStore } from "../../lib/store/sqlite.js";
import type { EventRow, Store, WebhookRow } from "../../lib/store/store.js";
import { FakeClock } from "./fake-clock.js";
import { tempDir } from "./relay.js";
import { webhookRow } from "./rows.js";

export const ACCOUNT = "1234567890";
export const REGION = "cn-hangzhou";

/** An emulator on `clock` (the publisher signs with it) and the deps a delivery run needs to publish there. */
export async function eventBridgeRig(
  clock: Clock,
  options: EventBridgeEmulatorOptions & { timeoutMs?: number } = {},
): Promise<{ emulator: EventBridgeEmulator; eventBridge: EventBridgeDeps }> {
  const emulator = await startEventBridgeEmulator({ clock, ...options });
  const publisher = createEventBridgePublisher({
    credentials: staticCredentials(EVENTBRIDGE_EMULATOR_CREDENTIAL),
    clock,
    timeoutMs: options.timeoutMs ?? 2_000,
    endpoint: () => emulator.url,
  });
  onTestFinished(async () => {
    await publisher.close();
    await emulator.close();
  });
  return { emulator, eventBridge: { publisher, region: REGION, accountId: ACCOUNT } };
}

export const busWebhook = (id: string, busName = "relay-events", over: Partial<WebhookRow> = {}): WebhookRow =>
  webhookRow(id, {
    url: `acs:eventbridge:${REGION}:${ACCOUNT}:eventbus/${busName}`,
    eventBridge: { busName },
    ...over,
  });

/** `n` finished-task events, each with a delivery to `webhookId` due now. */
export async function seedDeliveries(
  store: Store,
  webhookId: string,
  n: number,
  nowMs: number,
  body: (i: number) => Record<string, unknown> = () => ({}),
): Promise<{ events: EventRow[]; ids: string[] }> {
  const events: EventRow[] = [];
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const taskId = `task-${String(i).padStart(3, "0")}`;
    const type = "video_analysis.succeeded";
    const id = eventId("llm-eb", taskId, type);
    const data = { workspaceId: "llm-eb", taskId, taskStatus: "SUCCESSED", metadata: {}, task: {}, ...body(i) };
    const event: EventRow = {
      id,
      type,
      workspaceId: "llm-eb",
      taskId,
      body: JSON.stringify({ type, timestamp: new Date(nowMs).toISOString(), data }),
      createdAtMs: nowMs,
    };
    const msg = deliveryId(id, webhookId);
    await store.createEventWithDeliveries(event, [
      {
        id: msg,
        eventId: id,
        webhookId,
        url: "acs:eventbridge",
        nextAttemptAtMs: nowMs,
        createdAtMs: nowMs + i,
        eventType: type,
      },
    ]);
    events.push(event);
    ids.push(msg);
  }
  return { events, ids };
}

/** A SQLite store, a fake clock and delivery passes that publish to an emulated bus. */
export async function deliveryRig(options: { env?: Record<string, string>; timeoutMs?: number } = {}) {
  const clock = new FakeClock();
  const config = loadConfig({
    RELAY_ALLOW_PRIVATE_TARGETS: "true",
    RELAY_DELIVERY_TIMEOUT: "2s",
    ...options.env,
  });
  const store = new SqliteStore(join(tempDir(), "relay.db"));
  const sender = new WebhookSender({ timeoutMs: config.delivery.timeoutMs });
  const { emulator, eventBridge } = await eventBridgeRig(clock, { timeoutMs: options.timeoutMs });
  onTestFinished(async () => {
    await sender.close();
    await store.close();
  });
  const random = seededRandom("eventbridge");
  const logs: Array<Record<string, unknown>> = [];
  const run = (): DeliveryRun =>
    openDeliveryRun({
      store,
      clock,
      sleep: clock.sleep,
      random,
      config: config.delivery,
      sender,
      owner: `run-${clock.now()}`,
      quickRetries: 0,
      eventBridge,
      log: (entry) => logs.push(entry),
    });
  return {
    clock,
    config,
    store,
    emulator,
    eventBridge,
    logs,
    /** One delivery pass over whatever is due. */
    async pass(): Promise<DeliveryCounts> {
      const counts = emptyCounts();
      await deliverDue(run(), counts, {
        leaseMs: 60_000,
        concurrency: config.delivery.concurrency,
        startBeforeMs: clock.now() + 30_000,
      });
      return counts;
    },
  };
}
