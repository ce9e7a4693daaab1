/**
 * Store cost under contention: `tasks` finished tasks (one poll, its event, one delivery) on one
 * Tablestore (the emulator), worked by `processes` relay processes at once (`quanmiao-relay tick`,
 * in rounds until every task is delivered), against the same work done by one process. Counts every
 * Tablestore request from registration on; the workspaces' concurrency is known, as in a steady state.
 */
import { fileURLToPath } from "node:url";
import { SIM_CREDENTIAL, startSimulator } from "../dev/quanmiao-simulator/server.js";
import { EMULATOR_CREDENTIAL, startTablestoreEmulator } from "../dev/tablestore-emulator/server.js";
import { relayOnEmulatorsEnv, tickProcess } from "../dev/tick-process.js";
import { systemClock } from "../lib/clock.js";
import { loadConfig } from "../lib/config.js";
import { staticCredentials } from "../lib/quanmiao/credentials.js";
import { RecentWorkspaces } from "../lib/recent-workspaces.js";
import { TablestoreStore } from "../lib/store/tablestore.js";
import { registerTask } from "../lib/tasks.js";
import { createWebhook } from "../lib/webhooks.js";
import { row, type ScenarioRow, startScript } from "./support.js";

const CLI = fileURLToPath(new URL("../../bin/quanmiao-relay.js", import.meta.url));
const WORKSPACES = 20;

async function requestsPerTask(tasks: number, processes: number): Promise<number> {
  const sim = await startSimulator({ defaultConcurrency: 1_000, runMs: 0 });
  // One key for the API and Tablestore, as a function's RAM role provides on FC.
  const emulator = await startTablestoreEmulator({ credentials: [EMULATOR_CREDENTIAL, SIM_CREDENTIAL] });
  const receiver = await startScript("receiver.js");
  try {
    const store = new TablestoreStore({
      endpoint: emulator.url,
      instance: emulator.instance,
      credentials: staticCredentials(SIM_CREDENTIAL),
    });
    await store.init();
    // As the relay's API registers: workspace rows kept a few seconds between registrations.
    const deps = {
      store,
      clock: systemClock,
      poll: loadConfig({}).poll,
      allowPrivateTargets: true,
      workspaces: new RecentWorkspaces(),
    };
    await createWebhook(deps, { url: `${receiver.url}/hook` });
    for (let w = 0; w < WORKSPACES; w++) {
      await store.putWorkspace({
        workspaceId: `llm-c-${w}`,
        asyncConcurrency: 1_000,
        concurrencyFetchedAtMs: Date.now(),
        backoffUntilMs: 0,
        authFailures: 0,
        lastError: undefined,
      });
    }
    const sent = () => Object.values(emulator.stats().requests).reduce((a, b) => a + b, 0);
    const before = sent();
    for (let i = 0; i < tasks; i++) {
      const ws = `llm-c-${i % WORKSPACES}`;
      const t = sim.addTask(ws, { outcome: "SUCCESSED", runMs: 0 });
      await registerTask(deps, { workspaceId: ws, taskId: t.taskId });
    }
    await store.close();
    const env = relayOnEmulatorsEnv({ tablestore: emulator, quanmiaoUrl: sim.url });
    let delivered = 0;
    for (let round = 0; round < 50 && delivered < tasks; round++)
      for (const t of await Promise.all(Array.from({ length: processes }, () => tickProcess(CLI, env))))
        delivered += t.delivered;
    if (delivered !== tasks) throw new Error(`contention: ${delivered} of ${tasks} delivered`);
    return (sent() - before) / tasks;
  } finally {
    await receiver.stop();
    await emulator.close();
    await sim.close();
  }
}

export async function benchContention(tasks: number, processes: number): Promise<ScenarioRow[]> {
  const contended = await requestsPerTask(tasks, processes);
  const alone = await requestsPerTask(tasks, 1);
  return [
    row(
      `store cost under contention (${tasks} finished tasks, Tablestore)`,
      `requests per finished task, ${processes} processes (vs 1 process)`,
      contended,
      "requests",
      alone,
    ),
  ];
}
