/**
 * Noisy neighbours: healthy endpoints (answering in 50 ms) beside endpoints that never answer, that
 * answer after 5 s (past the delivery timeout) and that answer 500, while finished tasks arrive in
 * bursts. The healthy endpoints' delivery latency (end noticed → 2xx) is compared with the same
 * run where every endpoint is healthy; each timer run's overrun past its budget with one delivery
 * timeout; and the requests a hanging endpoint gets are counted, for the circuit breaker's "one
 * attempt per cool-down" once there is one.
 *
 * Bursts: the simulator runs WORKSPACES workspaces of `tasks ÷ (WORKSPACES × waves)` concurrent
 * tasks each, every task running `runTimeMs`, so the tasks end in `waves` waves, every workspace's
 * at once. The relay runs as a timer runs it (timer-runs.ts), on SQLite, until every healthy
 * delivery was made or the case's window closes: a relay that isolates badly would take many
 * minutes, so it is measured for the window instead. Its figures are then marked "at least": a
 * delivery still pending counts the wait it had so far, a run still going is killed and counts
 * what it had run, and ends not noticed within the window are left out (their own row counts them).
 * The deliveries each healthy endpoint got within the window stay exact either way.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SIM_CREDENTIAL } from "../dev/quanmiao-simulator/server.js";
import { openRelay, type Relay } from "../lib/relay.js";
import { registerTask } from "../lib/tasks.js";
import { createWebhook } from "../lib/webhooks.js";
import { type Behaviour, HEALTHY_DELAY_MS, type ReceiverRecords, SLOW_DELAY_MS } from "./noisy-endpoints.js";
import { type HealthyDeliveries, healthyDeliveries } from "./noisy-latency.js";
import { percentile, row, type ScenarioRow, startCliServer, startScript, submitTasks } from "./support.js";
import { type TimerRun, timerRuns } from "./timer-runs.js";

/**
 * Under SLOW_DELAY_MS, so the slow endpoints' answers come too late to count: every 2xx a run
 * reports is then a healthy endpoint's, which is how the runs know when they are done.
 */
const DELIVERY_TIMEOUT_MS = 3_000;
/** Between one run's end and the next one's start, as a timer firing every second would leave. */
const TIMER_GAP_MS = 1_000;
const WORKSPACES = 10;
/**
 * Both cases alike, above the defaults (16 and 4) so that a relay that uses them all gets through
 * the full size's 52,000 deliveries within the window on two cores.
 */
const DELIVERY_CONCURRENCY = 64;
const ENDPOINT_CONCURRENCY = 16;

export interface NoisySize {
  readonly tasks: number;
  /** RELAY_TICK_BUDGET (and RELAY_LINGER): each timer run's budget. */
  readonly budgetMs: number;
  readonly healthy: number;
  /** Endpoints of each bad kind: hanging, slow, failing. */
  readonly badOfEach: number;
  readonly waves: number;
  readonly runTimeMs: number;
  /** How long the noisy case is measured at most, from its first run. */
  readonly windowMs: number;
  /** The all-healthy case runs until every delivery is made; this only bounds it. */
  readonly baselineWindowMs: number;
}

interface Case {
  readonly healthy: HealthyDeliveries;
  /** Every end noticed and every healthy delivery made within the window. */
  readonly complete: boolean;
  readonly runs: TimerRun[];
  /** From the first run's start to the last healthy delivery, or to the window's end if some are missing. */
  readonly wallMs: number;
  /** Healthy deliveries made within `ms` of the first run's start, per healthy endpoint. */
  madeWithin(ms: number): number;
  readonly requests: ReadonlyArray<{ readonly behaviour: Behaviour; readonly count: number }>;
}

function relayEnv(dir: string, simUrl: string, budgetMs: number): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "",
    RELAY_STORE: `sqlite:${join(dir, "relay.db")}`,
    QUANMIAO_ENDPOINT: simUrl,
    ALIBABA_CLOUD_ACCESS_KEY_ID: SIM_CREDENTIAL.accessKeyId,
    ALIBABA_CLOUD_ACCESS_KEY_SECRET: SIM_CREDENTIAL.accessKeySecret,
    RELAY_ALLOW_PRIVATE_TARGETS: "true",
    RELAY_API_QPS: "1000",
    RELAY_API_CONCURRENCY: "16",
    // Ends noticed within about two seconds, so the bursts reach the relay as bursts.
    RELAY_POLL_INTERVAL_MIN: "1s",
    RELAY_DETECTION_TARGET: "2s",
    RELAY_TICK_BUDGET: `${budgetMs}ms`,
    // As `dev` does: a run stays while tasks run, so one run covers its whole budget.
    RELAY_LINGER: `${budgetMs}ms`,
    RELAY_DELIVERY_TIMEOUT: `${DELIVERY_TIMEOUT_MS}ms`,
    RELAY_DELIVERY_CONCURRENCY: String(DELIVERY_CONCURRENCY),
    RELAY_ENDPOINT_CONCURRENCY: String(ENDPOINT_CONCURRENCY),
  };
}

/** A relay on the case's store in this process, for the setup before the runs and the checks after. */
async function withStore<T>(env: Record<string, string>, work: (relay: Relay) => Promise<T>): Promise<T> {
  const relay = await openRelay({ env });
  try {
    return await work(relay);
  } finally {
    await relay.close();
  }
}

async function runCase(
  label: string,
  behaviours: readonly Behaviour[],
  size: NoisySize,
  windowMs: number,
): Promise<Case> {
  const perWorkspace = Math.ceil(size.tasks / (WORKSPACES * size.waves));
  const sim = await startCliServer([
    "simulator",
    ...["--run-time", `${size.runTimeMs}ms`, "--concurrency", String(perWorkspace)],
    ...["--failure-rate", "0", "--cancel-rate", "0"],
  ]);
  const dir = mkdtempSync(join(tmpdir(), "quanmiao-bench-"));
  const recordsPath = join(dir, "receivers.json");
  const receivers = await startScript("noisy-receiver.js", {
    BENCH_NOISY_SERVERS: behaviours.join(","),
    BENCH_NOISY_RECORDS: recordsPath,
    BENCH_NOISY_LIFETIME_MS: String(windowMs + 120_000),
  });
  let receiversStopped = false;
  try {
    const env = relayEnv(dir, sim.url, size.budgetMs);
    const webhookIds = await withStore(env, async (relay) => {
      const ids: string[] = [];
      for (const url of receivers.url.split(" "))
        ids.push((await createWebhook(relay.registration, { url: `${url}/hook` })).webhook.id);
      // Submitted first, registered after: the first wave's clock starts at submission, as it would.
      const submitted = await submitTasks(sim.url, size.tasks, {
        workspaces: WORKSPACES,
        prefix: `llm-${label}`,
        concurrency: 16,
      });
      for (const { ws, taskId } of submitted) await registerTask(relay.registration, { workspaceId: ws, taskId });
      return ids;
    });
    const healthy = webhookIds.flatMap((webhookId, server) =>
      behaviours[server] === "ok" ? [{ webhookId, server }] : [],
    );

    const startedAtMs = Date.now();
    const runs = await timerRuns(env, {
      wanted: size.tasks * healthy.length,
      windowMs,
      gapMs: TIMER_GAP_MS,
    });
    const windowEndMs = Date.now();
    await receivers.stop();
    receiversStopped = true;
    const records = JSON.parse(readFileSync(recordsPath, "utf8")) as ReceiverRecords;
    const delivered = await withStore(env, (relay) => healthyDeliveries(relay.store, records, healthy, windowEndMs));
    const complete = delivered.pending === 0 && delivered.events === size.tasks;
    const lastAnswerMs = Math.max(...records.answered.map((a) => a.answeredAtMs));
    return {
      healthy: delivered,
      complete,
      runs,
      wallMs: (complete ? lastAnswerMs : windowEndMs) - startedAtMs,
      madeWithin: (ms) => delivered.answeredAtMs.filter((at) => at - startedAtMs <= ms).length / healthy.length,
      requests: behaviours.map((behaviour, i) => ({ behaviour, count: records.requests[i] ?? 0 })),
    };
  } finally {
    if (!receiversStopped) await receivers.stop();
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function neighbours(size: NoisySize): Behaviour[] {
  const each = (b: Behaviour) => Array.from({ length: size.badOfEach }, () => b);
  return [...each("hang"), ...each("slow"), ...each("error")];
}

/** The longest run past the budget; a killed run's is a lower bound. */
const longestOverrunMs = (runs: readonly TimerRun[], budgetMs: number) =>
  Math.max(0, ...runs.map((r) => r.durationMs - budgetMs));

/** Marks the figures the window cut short (see the module's comment). */
const atLeast = (c: Case) => (c.complete ? "" : " (at least)");
/** A lower bound under its target says nothing about the target: say so rather than let it read as a pass. */
const inconclusive = (c: Case, underTarget: boolean) =>
  c.complete ? "" : underTarget ? " (at least: inconclusive, the window closed first)" : " (at least)";
const killed = (c: Case) => (c.runs.some((r) => r.killed) ? " (at least: killed)" : "");

export async function benchNoisyNeighbours(size: NoisySize): Promise<ScenarioRow[]> {
  const bad = neighbours(size);
  const all = size.healthy + bad.length;
  const healthy = (n: number) => Array.from({ length: n }, (): Behaviour => "ok");
  const calm = await runCase("calm", healthy(all), size, size.baselineWindowMs);
  const noisy = await runCase("noisy", [...healthy(size.healthy), ...bad], size, size.windowMs);

  const window = size.windowMs / 1000;
  const name =
    `noisy neighbours (${size.tasks} tasks in ${size.waves} bursts; ${size.healthy} healthy ${HEALTHY_DELAY_MS} ms ` +
    `endpoints + ${size.badOfEach} hanging, ${size.badOfEach} ${SLOW_DELAY_MS / 1000} s, ${size.badOfEach} HTTP 500; ` +
    `SQLite; measured for at most ${window} s)`;
  const stat = (c: Case, p: number) => percentile(c.healthy.latenciesMs, p);
  const vsCalm = ` (vs all ${all} healthy${atLeast(calm)})`;
  const latency = (what: string, p: number) =>
    row(
      name,
      `healthy ${what}${inconclusive(noisy, stat(noisy, p) <= stat(calm, p))}${vsCalm}`,
      stat(noisy, p),
      "ms",
      stat(calm, p),
    );
  const target = 1.2 * stat(calm, 99) + 100;
  const hanging = noisy.requests.filter((r) => r.behaviour === "hang").map((r) => r.count);
  return [
    latency("p50, end noticed → 2xx", 50),
    latency("p99", 99),
    latency("max", 100),
    row(
      name,
      `healthy p99${inconclusive(noisy, stat(noisy, 99) <= target)} (vs target: 1.2 × all-healthy p99 + 100 ms)`,
      stat(noisy, 99),
      "ms",
      target,
    ),
    row(
      name,
      `longest overrun past a run's ${size.budgetMs / 1000} s budget${killed(noisy)} (vs one delivery timeout)`,
      longestOverrunMs(noisy.runs, size.budgetMs),
      "ms",
      DELIVERY_TIMEOUT_MS,
    ),
    row(
      name,
      `all healthy: longest overrun${killed(calm)} (vs one delivery timeout)`,
      longestOverrunMs(calm.runs, size.budgetMs),
      "ms",
      DELIVERY_TIMEOUT_MS,
    ),
    row(
      name,
      `requests to the busier hanging endpoint in ${(noisy.wallMs / 1000).toFixed(0)} s (vs ends noticed)`,
      Math.max(...hanging),
      "requests",
      noisy.healthy.events,
    ),
    row(name, `ends noticed (vs all healthy)`, noisy.healthy.events, "tasks", calm.healthy.events),
    row(
      name,
      `healthy deliveries per endpoint made in ${window} s (vs all healthy in the same time)`,
      noisy.madeWithin(size.windowMs),
      "deliveries",
      calm.madeWithin(size.windowMs),
    ),
    row(
      name,
      `time to every healthy delivery, or to the window's end (vs all healthy)`,
      noisy.wallMs / 1000,
      "s",
      calm.wallMs / 1000,
    ),
  ];
}
