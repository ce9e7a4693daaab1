import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { onTestFinished } from "vitest";
import {
  SIM_CREDENTIAL,
  type Simulator,
  type SimulatorOptions,
  startSimulator,
} from "../../dev/quanmiao-simulator/server.js";
import { seededRandom } from "../../dev/seeded-random.js";
import { EMULATOR_CREDENTIAL, type Emulator, startTablestoreEmulator } from "../../dev/tablestore-emulator/server.js";
import { type Config, loadConfig } from "../../lib/config.js";
import { EndpointMemory } from "../../lib/delivery/endpoint-memory.js";
import { WebhookSender } from "../../lib/delivery/send.js";
import { createQuanmiaoClient } from "../../lib/quanmiao/client.js";
import { staticCredentials } from "../../lib/quanmiao/credentials.js";
import { runTick, type TickDeps, type TickSummary } from "../../lib/run/run.js";
import { SqliteStore } from "../../lib/store/sqlite.js";
import type { Store } from "../../lib/store/store.js";
import { TablestoreStore } from "../../lib/store/tablestore.js";
import { type RegisterTaskRequest, registerTask } from "../../lib/tasks.js";
import { type CreateWebhookRequest, createWebhook } from "../../lib/webhooks.js";
import { FakeClock } from "./fake-clock.js";
import { type Received, type Reply, startReceiver } from "./receiver.js";

export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "quanmiao-relay-"));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The whole relay on a fake clock: simulator, SQLite store on a temp file, client, sender. */
export type StoreKind = "sqlite" | "tablestore";

export async function relayHarness(
  options: { env?: Record<string, string>; sim?: SimulatorOptions; seed?: string; store?: StoreKind } = {},
) {
  const clock = new FakeClock();
  const sim: Simulator = await startSimulator({ clock, ...options.sim });
  const dir = tempDir();
  const config: Config = loadConfig({
    RELAY_STORE: `sqlite:${join(dir, "relay.db")}`,
    QUANMIAO_ENDPOINT: sim.url,
    RELAY_ALLOW_PRIVATE_TARGETS: "true",
    RELAY_DELIVERY_TIMEOUT: "2s",
    RELAY_API_QPS: "1000",
    ...options.env,
  });
  let store: Store;
  let emulator: Emulator | undefined;
  if (options.store === "tablestore") {
    // The emulator plays the service, on the wall clock: the SDK signs its requests with real time.
    const started = await startTablestoreEmulator();
    emulator = started;
    const ts = new TablestoreStore({
      endpoint: started.url,
      instance: started.instance,
      credentials: staticCredentials(EMULATOR_CREDENTIAL),
    });
    await ts.init();
    onTestFinished(() => started.close());
    store = ts;
  } else {
    store = new SqliteStore(config.store.kind === "sqlite" ? config.store.path : "");
  }
  const client = createQuanmiaoClient({ ...config.quanmiao, credentials: staticCredentials(SIM_CREDENTIAL), clock });
  const sender = new WebhookSender({ timeoutMs: config.delivery.timeoutMs });
  onTestFinished(async () => {
    await sender.close();
    await client.close();
    await store.close();
    await sim.close();
  });
  const deps: TickDeps = {
    store,
    client,
    config,
    clock,
    sleep: clock.sleep,
    random: seededRandom(options.seed ?? "relay-tests"),
    sender,
    quickRetries: 0,
    // As the relay has it: what passes learn of endpoints lasts between runs.
    endpointMemory: new EndpointMemory(clock),
  };
  const registration = { store, clock, poll: config.poll, allowPrivateTargets: config.delivery.allowPrivateTargets };
  return {
    clock,
    sim,
    store,
    /** The Tablestore emulator, when the harness runs on it. */
    emulator,
    config,
    deps,
    dir,
    tick: (budgetMs = config.tick.budgetMs): Promise<TickSummary> => runTick(deps, { budgetMs }),
    register: (request: RegisterTaskRequest) => registerTask(registration, request),
    webhook: (request: CreateWebhookRequest) => createWebhook(registration, request),
    /** A receiver that verifies with standardwebhooks, subscribed as a webhook with its secret. */
    async subscriber(
      options: { reply?: (r: Received, i: number) => Reply; request?: Partial<CreateWebhookRequest> } = {},
    ) {
      let secret = "";
      const rx = await startReceiver({
        secret: () => secret,
        now: () => clock.now(),
        ...(options.reply ? { reply: options.reply } : {}),
      });
      const created = await createWebhook(registration, { url: rx.url, ...options.request });
      secret = created.secret;
      // Every request a subscriber gets must verify with the standardwebhooks library.
      onTestFinished(() => {
        const bad = rx.received.filter((r) => r.verified === undefined);
        if (bad.length > 0) throw new Error(`${bad.length} deliveries did not verify: ${bad[0]?.verifyError}`);
      });
      return { ...rx, webhook: created.webhook, secret };
    },
    /** Ticks every `stepMs` of fake time until `done()` or `maxTicks`. */
    async runUntil(done: () => boolean | Promise<boolean>, stepMs = 10_000, maxTicks = 500): Promise<TickSummary[]> {
      const summaries: TickSummary[] = [];
      for (let i = 0; i < maxTicks && !(await done()); i++) {
        summaries.push(await runTick(deps, { budgetMs: config.tick.budgetMs }));
        clock.advance(stepMs);
      }
      return summaries;
    },
  };
}
