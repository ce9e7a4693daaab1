/**
 * Linger cost: what the poll function needs and is billed for while tasks run. One poll run as FC
 * runs it (the poll bundle in a fresh process, RELAY_LINGER as deployed) on the Tablestore emulator,
 * against the API simulator, holding `tasks` running tasks over 10 workspaces (all running at once,
 * each longer than the linger, so the run keeps all of them for its whole linger). Measured: the
 * process's peak RSS and CPU time, next to the same run with no tasks (the bundle, its store and
 * one empty run: what the tasks add). From them, the smallest FC size holding twice the peak RSS
 * (and twice the CPU use), checked against s.yaml's poll function, and what a lingering poll
 * function is billed per hour with tasks running, next to an always-on poller of that size.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { SIM_CREDENTIAL } from "../dev/quanmiao-simulator/server.js";
import { systemClock } from "../lib/clock.js";
import { loadConfig } from "../lib/config.js";
import { staticCredentials } from "../lib/quanmiao/credentials.js";
import { TablestoreStore } from "../lib/store/tablestore.js";
import { registerTask } from "../lib/tasks.js";
import { deployedPollSize, fcCostRows, smallestFcSize } from "./fc-cost.js";
import { row, type ScenarioRow, startCliServer, submitTasks } from "./support.js";

const run = promisify(execFile);
const WORKSPACES = 10;

interface RunReport {
  wallMs: number;
  cpuMs: number;
  /** CPU per second over the run's busiest 5 s. */
  busiestCpuShare: number;
  peakRssMiB: number;
  summary: { polled: number; errors: number; lingeredMs: number };
}

export async function benchLingerCost(tasks: number, lingerS: number): Promise<ScenarioRow[]> {
  // Every task runs ten lingers, so none ends while the run holds it.
  const concurrency = Math.ceil(tasks / WORKSPACES);
  const sim = await startCliServer(
    ["simulator", "--run-time", `${lingerS * 10}s`, "--concurrency", String(Math.max(2, concurrency))].concat([
      "--failure-rate",
      "0",
      "--cancel-rate",
      "0",
    ]),
  );
  const emulator = await startCliServer(["tablestore-emulator"]);
  const instance = "relay";
  const store = new TablestoreStore({
    endpoint: emulator.url,
    instance,
    credentials: staticCredentials(SIM_CREDENTIAL),
  });
  try {
    await store.init();
    const env = {
      PATH: process.env.PATH ?? "",
      RELAY_STORE: "tablestore",
      TABLESTORE_ENDPOINT: emulator.url,
      TABLESTORE_INSTANCE: instance,
      QUANMIAO_ENDPOINT: sim.url,
      RELAY_LINGER: `${lingerS}s`,
      RELAY_DETECTION_TARGET: "10s",
      // As s.yaml deploys it: deliveries go to the deliver function (there are none here).
      RELAY_DISPATCH: "fc",
      FC_ACCOUNT_ID: "1234567890123456",
      FC_REGION: "cn-beijing",
      RELAY_ALLOW_PRIVATE_TARGETS: "true",
    };
    const pollRun = async (): Promise<RunReport> => {
      const script = fileURLToPath(new URL("./linger-run.js", import.meta.url));
      const { stdout } = await run(process.execPath, [script], { env, maxBuffer: 16 << 20 });
      return JSON.parse(stdout.trim().split("\n").pop() ?? "{}") as RunReport;
    };
    const empty = await pollRun();
    const submitted = await submitTasks(sim.url, tasks, {
      workspaces: WORKSPACES,
      prefix: "llm-linger",
      concurrency: 16,
    });
    const deps = { store, clock: systemClock, poll: loadConfig({}).poll, allowPrivateTargets: true };
    for (const { ws, taskId } of submitted) await registerTask(deps, { workspaceId: ws, taskId });
    const busy = await pollRun();
    for (const r of [empty, busy])
      if (r.summary.errors > 0) throw new Error(`linger cost: ${JSON.stringify(r.summary)}`);
    if (busy.summary.polled < tasks)
      throw new Error(`linger cost: the run polled ${busy.summary.polled} of ${tasks} tasks`);
    const cpuShare = busy.cpuMs / busy.wallMs;
    const size = smallestFcSize(busy.peakRssMiB, cpuShare);
    const deployed = deployedPollSize();
    const name = `linger cost (${tasks} running tasks, 10 workspaces, RELAY_LINGER=${lingerS}s, poll bundle on Tablestore)`;
    // As deployed, the timer starts a run every minute and each lingers for that minute: the run's
    // share of its linger is its share of an hour (a --quick run's 10 s linger stands for the minute).
    const runSecondsPerBusyHour = (busy.wallMs / 1000 / lingerS) * 3_600;
    return [
      row(name, "the run's wall time (vs RELAY_LINGER)", busy.wallMs / 1000, "s", lingerS),
      row(name, "polls made by the run (vs running tasks)", busy.summary.polled, "polls", tasks),
      row(name, "peak RSS (vs the same run with no tasks)", busy.peakRssMiB, "MiB", empty.peakRssMiB),
      row(name, "CPU time of the run (vs the same run with no tasks)", busy.cpuMs / 1000, "s", empty.cpuMs / 1000),
      row(name, "CPU used per second of the run (vs s.yaml's poll vCPU)", cpuShare, "vCPU", deployed.vcpu),
      row(
        name,
        "CPU used per second, busiest 5 s (vs s.yaml's poll vCPU)",
        busy.busiestCpuShare,
        "vCPU",
        deployed.vcpu,
      ),
      row(
        name,
        "smallest FC memory holding 2× peak RSS (vs s.yaml's poll memorySize)",
        size.memoryMb,
        "MB",
        deployed.memoryMb,
      ),
      row(
        name,
        "smallest FC vCPU for that memory and 2× CPU use (vs s.yaml's poll cpu)",
        size.vcpu,
        "vCPU",
        deployed.vcpu,
      ),
      row(name, "FC run-seconds per hour with tasks running (vs always-on poller)", runSecondsPerBusyHour, "s", 3_600),
      ...fcCostRows(name, { runSecondsPerBusyHour }, deployed),
    ];
  } finally {
    await store.close();
    await sim.stop();
    await emulator.stop();
  }
}
