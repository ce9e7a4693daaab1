/**
 * The sandbox `npm start` runs without Alibaba credentials: the API simulator, a store of its own
 * (reset on each start), five sample tasks and a local receiver that prints each delivery after
 * verifying its signature with `standardwebhooks`.
 */
import { randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import { resolve } from "node:path";
import { Webhook } from "standardwebhooks";
import type { CliIo } from "../../lib/cli/io.js";
import { runningSandbox } from "../../lib/cli/sandbox.js";
import { type Env, loadConfig } from "../../lib/config.js";
import { formatDuration } from "../../lib/duration.js";
import { TERMINAL_EVENT_TYPES } from "../../lib/events.js";
import type { Sleep } from "../../lib/limiter.js";
import type { PrometheusMetrics } from "../../lib/prometheus.js";
import { createQuanmiaoClient, type QuanmiaoClient } from "../../lib/quanmiao/client.js";
import { CREDENTIAL_ENV, staticCredentials } from "../../lib/quanmiao/credentials.js";
import { openRelay, type Relay } from "../../lib/relay.js";
import { defaultSecrets } from "../../lib/secrets.js";
import { registerTask } from "../../lib/tasks.js";
import { createWebhook } from "../../lib/webhooks.js";
import { startEventBridgeEmulator } from "../eventbridge-emulator/server.js";
import { listenOnLoopback } from "../loopback.js";
import { SIM_CREDENTIAL, startSimulator } from "../quanmiao-simulator/server.js";
import { EMULATOR_DEFAULT_BUS } from "./eventbridge-emulator-command.js";

export const SANDBOX_DB = ".relay/sandbox.db";
const SAMPLE_WORKSPACE = "llm-sandbox";
const RECEIVER_MAX_BYTES = 1024 * 1024;

/** The bus the sandbox's EventBridge emulator has, and the account and region it stands in for. */
const SANDBOX_BUS = EMULATOR_DEFAULT_BUS;
const SANDBOX_CLOUD = { FC_ACCOUNT_ID: "1234567890", FC_REGION: "cn-hangzhou" };

/**
 * What the sandbox sets, given the simulator's and the EventBridge emulator's URLs; sandbox pacing
 * under the user's own settings. EventBridge always goes to the emulator: the sandbox has no real
 * credentials, and a bus subscription made in it must never publish to Alibaba Cloud.
 */
/** The sandbox's pace: quicker than a relay's defaults, so that a person sees results in seconds. */
const PACING = [
  "RELAY_TICK_INTERVAL",
  "RELAY_POLL_INTERVAL_MIN",
  "RELAY_POLL_INTERVAL_MAX",
  "RELAY_DETECTION_TARGET",
  "RELAY_LINGER",
] as const;

function sandboxVariables(env: Env, simulatorUrl: string, eventBridgeUrl: string): Env {
  return {
    RELAY_TICK_INTERVAL: "2s",
    RELAY_POLL_INTERVAL_MIN: "2s",
    RELAY_POLL_INTERVAL_MAX: "10s",
    RELAY_DETECTION_TARGET: "4s",
    RELAY_LINGER: env.RELAY_TICK_INTERVAL ?? "2s",
    ...env,
    QUANMIAO_ENDPOINT: simulatorUrl,
    RELAY_STORE: `sqlite:${SANDBOX_DB}`,
    RELAY_ALLOW_PRIVATE_TARGETS: "true",
    RELAY_EVENTBRIDGE_ENDPOINT: eventBridgeUrl,
    ...SANDBOX_CLOUD,
  };
}

/**
 * Everything that can refuse the sandbox, checked before anything is opened or deleted: its
 * configuration (with a stand-in for the simulator's URL, not known yet), and another sandbox
 * running in this folder, whose store the start would delete.
 */
export function checkSandbox(env: Env): void {
  const other = runningSandbox();
  if (other) {
    throw new Error(
      `a sandbox is already running in this folder (pid ${other.pid}${other.apiUrl ? `, ${other.apiUrl}` : ""}): ` +
        "stop it first, or run this one from another folder",
    );
  }
  loadConfig(sandboxVariables(env, "http://127.0.0.1:1", "http://127.0.0.1:1"));
}

function startPrintingReceiver(io: CliIo, secrets: () => string[]) {
  return listenOnLoopback(async (req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      // As the API: 1 MiB at most. Unbounded, one local POST of 300 MB took npm start to a gigabyte.
      size += (chunk as Buffer).length;
      if (size > RECEIVER_MAX_BYTES) return void res.writeHead(413, { connection: "close" }).end();
      chunks.push(chunk as Buffer);
    }
    const body = Buffer.concat(chunks).toString("utf8");
    let verified = false;
    let event: { type?: string; data?: { workspaceId?: string; taskId?: string; part?: string } } = {};
    for (const secret of secrets()) {
      try {
        event = new Webhook(secret).verify(body, req.headers as Record<string, string>) as typeof event;
        verified = true;
        break;
      } catch {
        // try the next secret
      }
    }
    io.out(
      `← ${event.type ?? "(unverified)"}${event.data?.part ? ` · ${event.data.part}` : ""}  ${event.data?.workspaceId ?? "?"}/${event.data?.taskId ?? "?"}  ` +
        `webhook-id ${req.headers["webhook-id"]}  signature ${verified ? "verified ✓" : "INVALID ✗"}  (${req.url})\n`,
    );
    res.writeHead(verified ? 200 : 400).end();
  });
}

async function registerSamples(submitter: QuanmiaoClient, relay: Relay, receiverUrl: string): Promise<void> {
  for (let i = 0; i < 5; i++) {
    const { taskId } = await submitter.submitTask(SAMPLE_WORKSPACE, {
      videoUrl: `https://videos.example.com/sample-${i + 1}.mp4`,
    });
    await registerTask(relay.registration, {
      workspaceId: SAMPLE_WORKSPACE,
      taskId,
      metadata: { sample: i + 1 },
      ...(i === 0 ? { webhooks: [`${receiverUrl}/per-task`] } : {}),
    });
  }
}

export interface Sandbox {
  readonly relay: Relay;
  /** The banner's sandbox lines. */
  readonly lines: readonly string[];
  /** The variables that point a relay command at this sandbox (for .relay/sandbox.json). */
  readonly env: Readonly<Record<string, string>>;
}

/**
 * Starts the sandbox; each thing opened is pushed on `opened` at once (to be closed in reverse
 * order), so a failure part-way leaves nothing running.
 */
export async function startSandbox(
  io: CliIo,
  opened: Array<() => unknown>,
  options: { sleep: Sleep; metrics: PrometheusMetrics },
): Promise<Sandbox> {
  for (const suffix of ["", "-wal", "-shm"]) rmSync(`${SANDBOX_DB}${suffix}`, { force: true });
  const sim = await startSimulator({
    runMs: [10_000, 30_000],
    failureRate: 0.15,
    cancelRate: 0.1,
    defaultConcurrency: 3,
    // Task ids are unique at Alibaba: a receiver keyed by them must not take a restarted sandbox's
    // tasks for the last one's.
    seed: `sandbox-${randomUUID()}`,
  });
  opened.push(() => sim.close());
  const bus = await startEventBridgeEmulator({
    buses: [SANDBOX_BUS],
    credentials: [SIM_CREDENTIAL],
    record: false,
    onEvent: (e) => {
      const data = (e.data ?? {}) as { workspaceId?: string; taskId?: string; part?: string };
      io.out(
        `⇢ EventBridge ${e.bus}: ${e.type}${data.part ? ` · ${data.part}` : ""}  ${data.workspaceId ?? "?"}/${data.taskId ?? "?"}  id ${e.id}  signature verified ✓\n`,
      );
    },
  });
  opened.push(() => bus.close());
  const env = sandboxVariables(io.env, sim.url, bus.url);
  const relay = await openRelay({
    env,
    config: loadConfig(env),
    credentials: staticCredentials(SIM_CREDENTIAL),
    logTo: io.err,
    ...options,
  });
  opened.push(() => relay.close());
  const secrets: string[] = [];
  const receiver = await startPrintingReceiver(io, () => secrets);
  opened.push(() => receiver.close());
  // Progress too (opt-in): the simulator finishes a task's parts one by one, so the sandbox shows them.
  const events = [...TERMINAL_EVENT_TYPES, "video_analysis.progress"];
  secrets.push((await createWebhook(relay.registration, { url: `${receiver.url}/subscriber`, events })).secret);
  secrets.push(...(await defaultSecrets(relay.store)).map((s) => s.secret));

  const submitter = createQuanmiaoClient({ endpoint: sim.url, credentials: staticCredentials(SIM_CREDENTIAL) });
  try {
    await registerSamples(submitter, relay, receiver.url);
  } finally {
    await submitter.close();
  }
  const { config } = relay;
  const detection = config.poll.detectionTargetMs;
  return {
    relay,
    env: {
      // Its pace too, so that what the CLI beside it says of a task (its detection target) is so.
      ...Object.fromEntries(PACING.flatMap((name) => (env[name] === undefined ? [] : [[name, env[name]]]))),
      RELAY_STORE: `sqlite:${resolve(SANDBOX_DB)}`,
      QUANMIAO_ENDPOINT: sim.url,
      [CREDENTIAL_ENV.accessKeyId]: SIM_CREDENTIAL.accessKeyId,
      [CREDENTIAL_ENV.accessKeySecret]: SIM_CREDENTIAL.accessKeySecret,
      RELAY_ALLOW_PRIVATE_TARGETS: "true",
      RELAY_EVENTBRIDGE_ENDPOINT: bus.url,
      ...SANDBOX_CLOUD,
    },
    lines: [
      "quanmiao-relay — SANDBOX MODE (no Alibaba Cloud credentials found)",
      `• Quanmiao API simulator   ${sim.url}  (workspace ${SAMPLE_WORKSPACE}, concurrency 3, tasks run 10–30 s)`,
      `• local webhook receiver   ${receiver.url}  (verifies every signature with standardwebhooks)`,
      `• EventBridge emulator     ${bus.url}  (bus ${SANDBOX_BUS}: \`npx quanmiao-relay webhooks add --eventbridge ${SANDBOX_BUS}\` publishes there)`,
      `• state                    ${resolve(SANDBOX_DB)}  (reset on each start; \`npx quanmiao-relay\` run in this folder uses it while the sandbox runs)`,
      "• 5 sample tasks registered; each result arrives below as its task ends (3 run at a time).",
      `• sandbox pacing: a tick every ${formatDuration(config.tick.intervalMs)}, polls every ${formatDuration(config.poll.intervalMinMs)}–${formatDuration(config.poll.intervalMaxMs)}, ends noticed within ${detection === undefined ? "a poll" : formatDuration(detection)}`,
    ],
  };
}
