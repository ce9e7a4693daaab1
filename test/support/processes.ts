/**
 * Real `quanmiao-relay tick` processes on one SQLite file, for the crash tests (npm test) and the
 * reliability suite: a scenario of finished tasks and two verifying subscribers, a tick process
 * that can be SIGKILLed, and the check that everything was delivered.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, onTestFinished } from "vitest";
import { SIM_CREDENTIAL, startSimulator } from "../../dev/quanmiao-simulator/server.js";
import { systemClock } from "../../lib/clock.js";
import { loadConfig } from "../../lib/config.js";
import { SqliteStore } from "../../lib/store/sqlite.js";
import { registerTask } from "../../lib/tasks.js";
import { type CreateWebhookRequest, createWebhook } from "../../lib/webhooks.js";
import { startReceiver } from "./receiver.js";
import { tempDir } from "./relay.js";

const CLI = fileURLToPath(new URL("../../bin/quanmiao-relay.js", import.meta.url));
const WS = "llm-proc";

/**
 * A store with `tasks` tasks and two subscribers (or `subscribers`, each registered with those
 * options), and the env for `quanmiao-relay tick`. The tasks are finished, or with `runningMs`
 * still running for that long (in real time), and the runs then linger (RELAY_LINGER) to notice
 * their ends. Receivers stamp arrivals with the wall clock, to the microsecond.
 */
export async function scenario(
  tasks: number,
  workspaces = 1,
  options: { runningMs?: readonly number[]; subscribers?: readonly Partial<CreateWebhookRequest>[] } = {},
) {
  const sim = await startSimulator({ defaultConcurrency: 10, runMs: 0 });
  onTestFinished(() => sim.close());
  const subscribers = options.subscribers ?? [{}, {}];
  const secrets: string[] = [];
  const rx = await Promise.all(
    subscribers.map((_, i) =>
      startReceiver({ secret: () => secrets[i] ?? [], now: () => performance.timeOrigin + performance.now() }),
    ),
  );
  const path = join(tempDir(), "relay.db");
  const env = {
    PATH: process.env.PATH,
    RELAY_STORE: `sqlite:${path}`,
    QUANMIAO_ENDPOINT: sim.url,
    ALIBABA_CLOUD_ACCESS_KEY_ID: SIM_CREDENTIAL.accessKeyId,
    ALIBABA_CLOUD_ACCESS_KEY_SECRET: SIM_CREDENTIAL.accessKeySecret,
    RELAY_ALLOW_PRIVATE_TARGETS: "true",
    RELAY_API_QPS: "500",
    RELAY_TICK_BUDGET: "20s",
    ...(options.runningMs ? { RELAY_LINGER: "10s", RELAY_DETECTION_TARGET: "1s" } : {}),
  };
  const config = loadConfig(env);
  const store = new SqliteStore(path);
  onTestFinished(() => store.close());
  const deps = { store, clock: systemClock, poll: config.poll, allowPrivateTargets: true };
  for (const [i, r] of rx.entries())
    secrets.push((await createWebhook(deps, { ...subscribers[i], url: r.url })).secret);
  const ids: Array<{ ws: string; taskId: string }> = [];
  for (let i = 0; i < tasks; i++) {
    const ws = workspaces === 1 ? WS : `${WS}-${i % workspaces}`;
    const outcome = i % 3 === 0 ? "FAILED" : "SUCCESSED";
    const runMs = options.runningMs?.[i % options.runningMs.length];
    // A finished task was submitted long enough ago not to be presumed still running (lib/tasks.ts):
    // it is asked at once, whatever run times the relay has learned meanwhile.
    const submittedAtMs = runMs === undefined ? Date.now() - 120_000 + i : Date.now() + i;
    const t = sim.addTask(ws, { outcome, runMs: runMs ?? 0, submittedAtMs });
    await registerTask(deps, { workspaceId: ws, taskId: t.taskId, submittedAtMs });
    ids.push({ ws, taskId: t.taskId });
  }
  return { sim, rx, store, env, ids, path };
}

export function tick(env: Record<string, string | undefined>, killAfterMs?: number) {
  const child = spawn(process.execPath, [CLI, "tick"], { env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d) => {
    out += d;
  });
  const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill("SIGKILL"), killAfterMs);
  // "close", not "exit": the summary may still be in the pipe when the process has exited.
  return once(child, "close").then(([code, signal]) => {
    clearTimeout(timer);
    return { code: code as number | null, signal: signal as string | null, out };
  });
}

export async function checkEverythingDelivered(s: Awaited<ReturnType<typeof scenario>>) {
  const active = await s.store.listTasks({ state: "active", limit: 1_000 });
  expect(active.items).toEqual([]);
  for (const { ws, taskId } of s.ids) {
    // Exactly one terminal event (a task seen running also has its opt-in `.running` event).
    const events = await s.store.listEventsForTask(ws, taskId);
    expect(events.filter((e) => e.type !== "video_analysis.running")).toHaveLength(1);
    expect(new Set(events.map((e) => e.type)).size).toBe(events.length);
  }
  const deliveries = (await s.store.listDeliveries({ limit: 10_000 })).items;
  expect(deliveries).toHaveLength(s.ids.length * s.rx.length);
  expect(deliveries.every((d) => d.status === "delivered")).toBe(true);
  const received = new Set(s.rx.flatMap((r) => r.received.map((q) => String(q.headers["webhook-id"]))));
  for (const r of s.rx) expect(r.received.every((q) => q.verified !== undefined)).toBe(true);
  for (const d of deliveries) expect(received.has(d.id)).toBe(true);
  return s.rx.reduce((n, r) => n + r.received.length, 0) - deliveries.length;
}
