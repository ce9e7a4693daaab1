/**
 * Fan-out: deliveries per second when a run hands its backlog to 1, 4 or 16 deliver instances
 * (the deliver bundle in processes behind the loopback FC endpoint), against the same backlog
 * delivered inline by one run. Receivers answer after 200 ms, so delivery is bound by waiting,
 * which is what fan-out spreads. Tablestore (the emulator) and the receivers run in their own
 * processes; every configuration value is the default but the batch count.
 */
import { fileURLToPath } from "node:url";
import { startFcEmulator } from "../dev/fc-emulator/server.js";
import { EMULATOR_CREDENTIAL } from "../dev/tablestore-emulator/server.js";
import { systemClock } from "../lib/clock.js";
import { loadConfig } from "../lib/config.js";
import { staticCredentials } from "../lib/quanmiao/credentials.js";
import { openRelay } from "../lib/relay.js";
import { TablestoreStore } from "../lib/store/tablestore.js";
import { createWebhook } from "../lib/webhooks.js";
import { row, type ScenarioRow, startCliServer, startScript, writeDueBacklog } from "./support.js";

const RECEIVER_DELAY_MS = 200;
const ENDPOINTS = 8;
const DELIVER_BUNDLE = fileURLToPath(new URL("../deliver/index.js", import.meta.url));

export async function benchFanOut(deliveries: number, instances: readonly number[]): Promise<ScenarioRow[]> {
  const tablestore = await startCliServer(["tablestore-emulator"]);
  // One origin per endpoint: the sender keeps at most RELAY_ENDPOINT_CONCURRENCY connections per origin.
  const receiver = await startScript("receiver.js", {
    BENCH_RECEIVER_DELAY_MS: String(RECEIVER_DELAY_MS),
    BENCH_RECEIVER_PORTS: String(ENDPOINTS),
  });
  const storeEnv = {
    RELAY_STORE: "tablestore",
    TABLESTORE_ENDPOINT: tablestore.url,
    TABLESTORE_INSTANCE: "relay",
    RELAY_ALLOW_PRIVATE_TARGETS: "true",
    // Nothing is polled here; an address where nothing listens, so nothing leaves the machine.
    QUANMIAO_ENDPOINT: "http://127.0.0.1:9",
  };
  const credentials = staticCredentials(EMULATOR_CREDENTIAL);
  const store = new TablestoreStore({ endpoint: tablestore.url, instance: "relay", credentials });
  try {
    await store.init();
    const deps = { store, clock: systemClock, poll: loadConfig({}).poll, allowPrivateTargets: true };
    for (const url of receiver.url.split(" ")) await createWebhook(deps, { url: `${url}/hook` });
    const events = Math.ceil(deliveries / ENDPOINTS);

    /** A backlog of due deliveries, fresh per case: `events` finished tasks × the webhooks. */
    const backlog = (label: string) =>
      writeDueBacklog(store, { events, workspaceId: "llm-bench", label, nowMs: Date.now() });

    // Inline: one run delivers the whole backlog.
    await backlog("inline");
    const inline = await openRelay({ env: storeEnv, credentials });
    let started = performance.now();
    const summary = await inline.tick(600_000);
    const inlineRate = summary.delivered / ((performance.now() - started) / 1000);
    await inline.close();
    if (summary.delivered !== events * ENDPOINTS) throw new Error(`inline delivered ${summary.delivered}`);

    const rows: ScenarioRow[] = [];
    for (const n of instances) {
      const fc = await startFcEmulator({
        credentials: EMULATOR_CREDENTIAL,
        functions: {
          "quanmiao-relay-deliver": { module: DELIVER_BUNDLE, env: storeEnv, maxInstances: n, timeoutS: 120 },
        },
        prewarm: n,
      });
      try {
        await backlog(`fanout-${n}`);
        const relay = await openRelay({
          env: {
            ...storeEnv,
            RELAY_DISPATCH: "fc",
            RELAY_FC_ENDPOINT: fc.url,
            FC_ACCOUNT_ID: fc.accountId,
            FC_REGION: fc.region,
          },
          credentials,
        });
        started = performance.now();
        const run = await relay.tick(600_000);
        await fc.idle();
        const seconds = (performance.now() - started) / 1000;
        await relay.close();
        const remote = fc.invocations.reduce(
          (sum, inv) => sum + ((inv.result as { delivered?: number } | null)?.delivered ?? 0),
          0,
        );
        const failed = fc.invocations.filter((inv) => inv.error !== undefined);
        if (failed.length > 0) throw new Error(`deliver invocation failed: ${failed[0]?.error}`);
        const total = run.delivered + remote;
        if (total !== events * ENDPOINTS)
          throw new Error(`fan-out to ${n} delivered ${total} of ${events * ENDPOINTS}`);
        const rate = total / seconds;
        rows.push(
          row(
            "fan-out (200 ms receivers)",
            `${n} deliver instance${n === 1 ? "" : "s"} (vs inline)`,
            rate,
            "deliveries/s",
            inlineRate,
          ),
        );
      } finally {
        await fc.close();
      }
    }
    return rows;
  } finally {
    await store.close();
    await tablestore.stop();
    await receiver.stop();
  }
}
