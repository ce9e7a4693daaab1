/** Shared pieces of the benchmarks: servers in their own processes, timing, and the report. */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import os from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { SIM_CREDENTIAL } from "../dev/quanmiao-simulator/server.js";
import { forEachLimit } from "../lib/concurrency.js";
import { loadConfig } from "../lib/config.js";
import { deliveryId, eventId } from "../lib/ids.js";
import { createQuanmiaoClient } from "../lib/quanmiao/client.js";
import { staticCredentials } from "../lib/quanmiao/credentials.js";
import { openRelay } from "../lib/relay.js";
import type { Store } from "../lib/store/store.js";
import { registerTask } from "../lib/tasks.js";
import { createWebhook } from "../lib/webhooks.js";

/** The built CLI, bin/quanmiao-relay.js. */
export const CLI = fileURLToPath(new URL("../../bin/quanmiao-relay.js", import.meta.url));

/** Starts `quanmiao-relay <args>` and resolves with its first stdout line (the URL) and the process. */
export async function startCliServer(
  args: string[],
): Promise<{ url: string; child: ChildProcess; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [CLI, ...args, "--port", "0"], { stdio: ["ignore", "pipe", "ignore"] });
  if (!child.stdout) throw new Error("no stdout");
  const [url] = (await once(createInterface({ input: child.stdout }), "line")) as [string];
  return {
    url,
    child,
    async stop() {
      child.kill("SIGINT");
      await once(child, "exit");
    },
  };
}

/** The simulator in its own process, every task finished at once and successful, plus `extra` flags. */
export function startBenchSimulator(extra: string[] = []) {
  return startCliServer(["simulator", "--run-time", "0", "--failure-rate", "0", "--cancel-rate", "0", ...extra]);
}

/**
 * A backlog of due deliveries written straight to the store: `events` finished tasks, each to every
 * webhook, with a body of about 2 KB.
 */
export async function writeDueBacklog(
  store: Store,
  options: { events: number; workspaceId: string; label: string; nowMs: number },
): Promise<number> {
  const webhooks = await store.listWebhooks();
  for (let i = 0; i < options.events; i++) {
    const taskId = `${options.label}-${i}`;
    const id = eventId(options.workspaceId, taskId, "video_analysis.succeeded");
    const body = JSON.stringify({ type: "video_analysis.succeeded", data: { taskId, pad: "x".repeat(2_000) } });
    await store.createEvent({
      id,
      type: "video_analysis.succeeded",
      workspaceId: options.workspaceId,
      taskId,
      body,
      createdAtMs: options.nowMs,
    });
    await store.createDeliveries(
      webhooks.map((w) => ({
        id: deliveryId(id, w.id),
        eventId: id,
        webhookId: w.id,
        url: w.url,
        nextAttemptAtMs: options.nowMs,
        createdAtMs: options.nowMs,
      })),
    );
  }
  return options.events * webhooks.length;
}

export interface SubmittedTask {
  readonly ws: string;
  readonly taskId: string;
}

/** Submits `count` tasks to the simulator, spread over `workspaces` workspaces named `<prefix>-<n>`. */
export async function submitTasks(
  simUrl: string,
  count: number,
  options: { workspaces: number; prefix: string; concurrency: number },
): Promise<SubmittedTask[]> {
  const submitter = createQuanmiaoClient({
    endpoint: simUrl,
    credentials: staticCredentials(SIM_CREDENTIAL),
    connections: options.concurrency,
  });
  const ids: SubmittedTask[] = [];
  try {
    await forEachLimit(
      Array.from({ length: count }, (_, i) => i),
      options.concurrency,
      async (i) => {
        const ws = `${options.prefix}-${i % options.workspaces}`;
        const { taskId } = await submitter.submitTask(ws, { videoUrl: `https://v.example.com/${i}.mp4` });
        ids.push({ ws, taskId });
      },
    );
  } finally {
    await submitter.close();
  }
  return ids;
}

const cpuMsOf = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;

/** This process's CPU time while `work` runs, in ms, and the work's wall time in seconds. */
export async function measure(work: () => Promise<void>): Promise<{ seconds: number; cpuMs: number }> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  await work();
  return { seconds: (performance.now() - started) / 1000, cpuMs: cpuMsOf(process.cpuUsage(cpu)) };
}

/**
 * The relay on a fresh SQLite file in `dir`: subscribes `webhookUrls`, registers `tasks`, then runs
 * until every delivery is made. Measures from the first run to the last; throws if any is missing.
 */
export async function relayUntilDelivered(options: {
  simUrl: string;
  dir: string;
  webhookUrls: readonly string[];
  tasks: readonly SubmittedTask[];
  env: Record<string, string>;
  /** Calls a second to the API, past what RELAY_API_QPS accepts (an operator's ceiling, not the bench's). */
  apiQps?: number;
}): Promise<{ seconds: number; cpuMs: number }> {
  const env = {
    RELAY_STORE: `sqlite:${join(options.dir, "relay.db")}`,
    QUANMIAO_ENDPOINT: options.simUrl,
    RELAY_ALLOW_PRIVATE_TARGETS: "true",
    RELAY_API_QPS: "1000",
    ...options.env,
  };
  const loaded = loadConfig(env);
  const config =
    options.apiQps === undefined ? loaded : { ...loaded, poll: { ...loaded.poll, apiQps: options.apiQps } };
  const relay = await openRelay({ env, config, credentials: staticCredentials(SIM_CREDENTIAL) });
  try {
    for (const url of options.webhookUrls) await createWebhook(relay.registration, { url });
    for (const { ws, taskId } of options.tasks) await registerTask(relay.registration, { workspaceId: ws, taskId });
    const wanted = options.tasks.length * options.webhookUrls.length;
    let delivered = 0;
    const measured = await measure(async () => {
      for (let i = 0; i < 100; i++) {
        const summary = await relay.tick(600_000);
        delivered += summary.delivered;
        if (delivered >= wanted && summary.polled === 0) break;
      }
    });
    const pending = (await relay.store.listDeliveries({ status: "pending", limit: 1 })).items.length;
    if (delivered !== wanted || pending > 0) throw new Error(`the relay delivered ${delivered} of ${wanted}`);
    return measured;
  } finally {
    await relay.close();
  }
}

/** Starts one of the built bench scripts (dist/bench/<name>) that prints its URL first. */
export async function startScript(
  name: string,
  env: Record<string, string> = {},
): Promise<{ url: string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [fileURLToPath(new URL(`./${name}`, import.meta.url))], {
    stdio: ["ignore", "pipe", "ignore"],
    env: { ...process.env, ...env },
  });
  if (!child.stdout) throw new Error("no stdout");
  const [url] = (await once(createInterface({ input: child.stdout }), "line")) as [string];
  return {
    url,
    async stop() {
      child.kill("SIGINT");
      await once(child, "exit");
    },
  };
}

/** Runs `task` `total` times with `concurrency` in flight; returns calls per second. */
export async function rate(total: number, concurrency: number, task: () => Promise<unknown>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        next++;
        await task();
      }
    }),
  );
  return total / ((performance.now() - started) / 1000);
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** One measured figure next to its baseline from the same invocation. */
export interface ScenarioRow {
  readonly name: string;
  readonly metric: string;
  readonly value: number;
  readonly unit: string;
  /** What `value` is compared with; null where nothing comparable exists. */
  readonly baseline: number | null;
  /** value / baseline: what counts on a noisy machine. */
  readonly ratio: number | null;
}

export function row(name: string, metric: string, value: number, unit: string, baseline: number | null): ScenarioRow {
  return { name, metric, value, unit, baseline, ratio: baseline ? value / baseline : null };
}

export function machine() {
  const cpus = os.cpus();
  return {
    node: process.version,
    platform: `${process.platform}/${process.arch}`,
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? "unknown",
    memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
  };
}

const figure = (n: number | null) =>
  n === null ? "-" : Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 10 ? n.toFixed(1) : n.toFixed(2);

export function report(rows: readonly ScenarioRow[], json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify({ machine: machine(), scenarios: rows }, null, 2)}\n`);
    return;
  }
  const header = ["scenario", "metric", "value", "baseline", "unit", "ratio"];
  const cells = rows.map((r) => [r.name, r.metric, figure(r.value), figure(r.baseline), r.unit, figure(r.ratio)]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] as string).length)));
  const line = (c: string[]) => c.map((v, i) => v.padEnd(widths[i] as number)).join("  ");
  process.stdout.write(`${line(header)}\n${line(widths.map((w) => "-".repeat(w)))}\n${cells.map(line).join("\n")}\n`);
}

/** Counts calls to each Store method: the store-cost scenario's yardstick. */
export function countingStore<T extends object>(store: T): { store: T; calls: () => number } {
  let calls = 0;
  const proxy = new Proxy(store, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof value !== "function" || key === "close" || key === "constructor") return value;
      return (...args: unknown[]) => {
        calls++;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: proxy, calls: () => calls };
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? 0;
}
