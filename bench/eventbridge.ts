/**
 * EventBridge delivery: a backlog of due deliveries to one bus, published by the relay's delivery
 * pass up to 16 events a request, against the same events sent one per request (the same pass with
 * a batch of one). The emulator runs in its own process and checks every request's signature, so
 * the CPU measured is the relay's. Reported: events per second, requests per event, CPU per event.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EVENTBRIDGE_EMULATOR_CREDENTIAL } from "../dev/eventbridge-emulator/server.js";
import { loadConfig } from "../lib/config.js";
import { openDeliveryRun } from "../lib/delivery/deliver.js";
import { deliverDue } from "../lib/delivery/loop.js";
import { emptyCounts } from "../lib/delivery/pass-counts.js";
import type { EventBridgePublisher } from "../lib/eventbridge/client.js";
import { openRelay } from "../lib/relay.js";
import { measure, row, type ScenarioRow, startScript, writeDueBacklog } from "./support.js";

interface Measured {
  readonly seconds: number;
  readonly cpuMs: number;
  readonly requests: number;
}

async function publishBacklog(busUrl: string, dir: string, events: number, batchSize: number): Promise<Measured> {
  const env = {
    RELAY_STORE: `sqlite:${join(dir, `relay-${batchSize}.db`)}`,
    RELAY_EVENTBRIDGE_ENDPOINT: busUrl,
    ALIBABA_CLOUD_ACCESS_KEY_ID: EVENTBRIDGE_EMULATOR_CREDENTIAL.accessKeyId,
    ALIBABA_CLOUD_ACCESS_KEY_SECRET: EVENTBRIDGE_EMULATOR_CREDENTIAL.accessKeySecret,
    FC_ACCOUNT_ID: "1234567890",
    FC_REGION: "cn-hangzhou",
  };
  const relay = await openRelay({ env, config: loadConfig(env) });
  try {
    const nowMs = relay.clock.now();
    await relay.store.createWebhook({
      id: "wh_bench_bus",
      url: "acs:eventbridge:cn-hangzhou:1234567890:eventbus/bench",
      secrets: [],
      events: undefined,
      workspaceId: undefined,
      headers: {},
      enabled: true,
      disabledReason: undefined,
      failingSinceMs: undefined,
      rateLimitPerSecond: undefined,
      format: undefined,
      eventBridge: { busName: "bench" },
      createdAtMs: nowMs,
    });
    const wanted = await writeDueBacklog(relay.store, { events, workspaceId: "llm-bench", label: "eb", nowMs });
    const eb = relay.tickDeps.eventBridge;
    if (!eb) throw new Error("the relay has no EventBridge publisher");
    let requests = 0;
    const counting: EventBridgePublisher = {
      putEvents: (address, body) => {
        requests++;
        return eb.publisher.putEvents(address, body);
      },
      close: () => eb.publisher.close(),
    };
    const counts = emptyCounts();
    const measured = await measure(async () => {
      for (let i = 0; i < 100 && counts.delivered < wanted; i++) {
        const run = openDeliveryRun({
          ...relay.tickDeps,
          config: relay.config.delivery,
          owner: `bench-${i}`,
          eventBridge: { ...eb, publisher: counting, batchSize },
        });
        const clock = relay.clock;
        await deliverDue(run, counts, {
          leaseMs: 600_000,
          concurrency: relay.config.delivery.concurrency,
          startBeforeMs: clock.now() + 600_000,
        });
      }
    });
    if (counts.delivered !== wanted) throw new Error(`delivered ${counts.delivered} of ${wanted} (batch ${batchSize})`);
    return { ...measured, requests };
  } finally {
    await relay.close();
  }
}

export async function benchEventBridge(events: number): Promise<ScenarioRow[]> {
  const bus = await startScript("eventbridge-bus.js");
  const dir = mkdtempSync(join(tmpdir(), "quanmiao-bench-eb-"));
  try {
    const single = await publishBacklog(bus.url, dir, events, 1);
    const batched = await publishBacklog(bus.url, dir, events, 16);
    const name = `eventbridge (${events} events to one bus)`;
    return [
      row(name, "events (batched vs one per request)", events / batched.seconds, "events/s", events / single.seconds),
      row(
        name,
        "requests per event (batched vs one per request)",
        batched.requests / events,
        "requests",
        single.requests / events,
      ),
      row(name, "CPU per event (batched vs one per request)", batched.cpuMs / events, "ms", single.cpuMs / events),
    ];
  } finally {
    await bus.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
