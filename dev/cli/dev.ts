/**
 * `quanmiao-relay dev` (what `npm start` runs): ticks every RELAY_TICK_INTERVAL on SQLite until
 * Ctrl-C, each run lingering for that interval while tasks run (RELAY_LINGER, unless set), so ends
 * are noticed within the detection target rather than at the next tick. Without Alibaba credentials
 * it runs a sandbox: the API simulator, a few sample tasks, and a local receiver that prints each
 * delivery after verifying its signature with `standardwebhooks`.
 */

import { rmSync } from "node:fs";
import { Webhook } from "standardwebhooks";
import type { CliIo } from "../../lib/cli/io.js";
import { startApi } from "../../lib/cli/serve-command.js";
import { untilSignal } from "../../lib/cli/signals.js";
import { loadConfig } from "../../lib/config.js";
import { formatDuration } from "../../lib/duration.js";
import { coerceError } from "../../lib/errors.js";
import { realSleep } from "../../lib/limiter.js";
import { PrometheusMetrics } from "../../lib/prometheus.js";
import { createQuanmiaoClient } from "../../lib/quanmiao/client.js";
import { CREDENTIAL_ENV, staticCredentials } from "../../lib/quanmiao/credentials.js";
import { openRelay, type Relay } from "../../lib/relay.js";
import type { TickSummary } from "../../lib/run/run.js";
import { defaultSecrets } from "../../lib/secrets.js";
import { registerTask } from "../../lib/tasks.js";
import { createWebhook } from "../../lib/webhooks.js";
import { listenOnLoopback } from "../loopback.js";
import { SIM_CREDENTIAL, startSimulator } from "../quanmiao-simulator/server.js";

const SANDBOX_DB = ".relay/sandbox.db";
const SAMPLE_WORKSPACE = "llm-sandbox";

function interesting(s: TickSummary): boolean {
  return (
    s.polled +
      s.events +
      s.delivered +
      s.retried +
      s.dead +
      s.deferred +
      s.released +
      s.handedOff +
      s.errors +
      s.throttled >
    0
  );
}

function startPrintingReceiver(io: CliIo, secrets: () => string[]) {
  return listenOnLoopback(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    let verified = false;
    let event: { type?: string; data?: { workspaceId?: string; taskId?: string; taskStatus?: string } } = {};
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
      `← ${event.type ?? "(unverified)"}  ${event.data?.workspaceId ?? "?"}/${event.data?.taskId ?? "?"}  ` +
        `webhook-id ${req.headers["webhook-id"]}  signature ${verified ? "verified ✓" : "INVALID ✗"}  (${req.url})\n`,
    );
    res.writeHead(verified ? 200 : 400).end();
  });
}

export async function devCommand(io: CliIo): Promise<void> {
  const sandbox = !io.env[CREDENTIAL_ENV.accessKeyId] && !io.env.QUANMIAO_ENDPOINT;
  const stop = io.stopSignal ?? untilSignal();
  // A lingering run wakes at Ctrl-C (and then ends: it was woken before its due time).
  const sleep = (ms: number) => Promise.race([realSleep(ms), stop.then(() => undefined)]);
  let relay: Relay;
  // One process runs the ticks and serves the API: GET /metrics counts what its runs did.
  const metrics = new PrometheusMetrics();
  const cleanups: Array<() => unknown> = [];

  if (sandbox) {
    rmSync(SANDBOX_DB, { force: true });
    rmSync(`${SANDBOX_DB}-wal`, { force: true });
    rmSync(`${SANDBOX_DB}-shm`, { force: true });
    const sim = await startSimulator({
      runMs: [10_000, 30_000],
      failureRate: 0.15,
      cancelRate: 0.1,
      defaultConcurrency: 3,
    });
    cleanups.push(() => sim.close());
    // Sandbox pacing, so results show within seconds; any of these set by the user wins.
    const env = {
      RELAY_TICK_INTERVAL: "2s",
      RELAY_POLL_INTERVAL_MIN: "2s",
      RELAY_POLL_INTERVAL_MAX: "10s",
      RELAY_DETECTION_TARGET: "4s",
      RELAY_LINGER: io.env.RELAY_TICK_INTERVAL ?? "2s",
      ...io.env,
      QUANMIAO_ENDPOINT: sim.url,
      RELAY_STORE: `sqlite:${SANDBOX_DB}`,
      RELAY_ALLOW_PRIVATE_TARGETS: "true",
    };
    relay = await openRelay({
      env,
      config: loadConfig(env),
      credentials: staticCredentials(SIM_CREDENTIAL),
      logTo: io.err,
      sleep,
      metrics,
    });
    const secrets: string[] = [];
    const receiver = await startPrintingReceiver(io, () => secrets);
    cleanups.push(() => receiver.close());
    secrets.push((await createWebhook(relay.registration, { url: `${receiver.url}/subscriber` })).secret);
    secrets.push(...(await defaultSecrets(relay.store)).map((s) => s.secret));

    const submitter = createQuanmiaoClient({ endpoint: sim.url, credentials: staticCredentials(SIM_CREDENTIAL) });
    for (let i = 0; i < 5; i++) {
      const { taskId } = await submitter.submitTask(SAMPLE_WORKSPACE, {
        videoUrl: `https://videos.example.com/sample-${i + 1}.mp4`,
      });
      await registerTask(relay.registration, {
        workspaceId: SAMPLE_WORKSPACE,
        taskId,
        metadata: { sample: i + 1 },
        ...(i === 0 ? { webhooks: [`${receiver.url}/per-task`] } : {}),
      });
    }
    await submitter.close();
    io.out(
      `${[
        "",
        "  quanmiao-relay — SANDBOX MODE (no Alibaba Cloud credentials found)",
        `  • Quanmiao API simulator   ${sim.url}  (workspace ${SAMPLE_WORKSPACE}, concurrency 3, tasks run 10–30 s)`,
        `  • local webhook receiver   ${receiver.url}  (verifies every signature with standardwebhooks)`,
        `  • store                    ${SANDBOX_DB} (reset on each start)`,
        "  • 5 sample tasks registered; each result arrives below as its task ends (3 run at a time).",
        `  • sandbox pacing: a tick every ${formatDuration(relay.config.tick.intervalMs)}, polls every ${formatDuration(relay.config.poll.intervalMinMs)}–${formatDuration(relay.config.poll.intervalMaxMs)}, ends noticed within ${relay.config.poll.detectionTargetMs === undefined ? "a poll" : formatDuration(relay.config.poll.detectionTargetMs)}`,
        `  Set ${CREDENTIAL_ENV.accessKeyId}/${CREDENTIAL_ENV.accessKeySecret} to poll the real API instead. Ctrl-C stops.`,
        "",
      ].join("\n")}\n`,
    );
  } else {
    const env = { RELAY_LINGER: io.env.RELAY_TICK_INTERVAL ?? "10s", ...io.env };
    relay = await openRelay({ env, logTo: io.err, sleep, metrics });
    io.out(
      `quanmiao-relay: ticking every ${formatDuration(relay.config.tick.intervalMs)} against ${relay.config.quanmiao.endpoint}` +
        ` (store ${relay.config.store.kind === "sqlite" ? relay.config.store.path : "tablestore"}). Ctrl-C stops.\n`,
    );
  }

  // The HTTP API too, on loopback (where running without a token is allowed).
  let apiLine: string;
  try {
    const api = await startApi(relay, { port: relay.config.api.port, host: "127.0.0.1", noAuth: true });
    cleanups.unshift(() => api.close());
    apiLine = `HTTP API on ${api.url}/v1 (${relay.config.api.tokens ? "bearer token required" : "no token: loopback only"})`;
  } catch (error) {
    apiLine = `HTTP API not started: ${coerceError(error).message}`;
  }
  io.out(`  ${apiLine}\n\n`);

  let stopping = false;
  void stop.then(() => {
    stopping = true;
  });
  try {
    while (!stopping) {
      const summary = await relay.tick(
        Math.min(relay.config.tick.budgetMs, Math.max(relay.config.tick.intervalMs, 5_000)),
      );
      if (interesting(summary)) io.err(`${JSON.stringify({ tick: summary })}\n`);
      await Promise.race([stop, new Promise((resolve) => setTimeout(resolve, relay.config.tick.intervalMs))]);
    }
  } finally {
    await relay.close();
    for (const cleanup of cleanups) await cleanup();
    io.out("stopped.\n");
  }
}
