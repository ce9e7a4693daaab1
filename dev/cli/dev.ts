/**
 * `quanmiao-relay dev` (what `npm start` runs): ticks every RELAY_TICK_INTERVAL on SQLite until
 * Ctrl-C, each run lingering for that interval while tasks run (RELAY_LINGER, unless set), so ends
 * are noticed within the detection target rather than at the next tick. Without Alibaba credentials
 * it runs the sandbox (sandbox.ts). Either way it serves the HTTP API and the console on loopback.
 *
 * Start-up checks everything it can (configuration, credentials, another sandbox here) before it
 * opens anything; whatever it then opens is closed on the way out, error or Ctrl-C, so an error
 * ends the process with its exit code instead of leaving a server holding it open.
 */
import { resolve } from "node:path";
import type { CliIo } from "../../lib/cli/io.js";
import { announceSandbox, hasOwnCredentials } from "../../lib/cli/sandbox.js";
import { startApi } from "../../lib/cli/serve-command.js";
import { untilSignal } from "../../lib/cli/signals.js";
import { type Config, loadConfig } from "../../lib/config.js";
import { formatDuration } from "../../lib/duration.js";
import { coerceError } from "../../lib/errors.js";
import { PrometheusMetrics } from "../../lib/prometheus.js";
import { CREDENTIAL_ENV, resolveCredentials } from "../../lib/quanmiao/credentials.js";
import { openRelay, type Relay } from "../../lib/relay.js";
import type { TickSummary } from "../../lib/run/run.js";
import { checkSandbox, startSandbox } from "./sandbox.js";

function troubled(s: TickSummary): boolean {
  return s.errors + s.dead + s.throttled > 0;
}

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

function storeText(config: Config): string {
  const { store, tablestore } = config;
  return store.kind === "sqlite"
    ? resolve(store.path)
    : `Tablestore instance ${tablestore.instance} at ${tablestore.endpoint}`;
}

/** The API and console lines of the banner; the API's port for .relay/sandbox.json. */
async function serveApi(relay: Relay, opened: Array<() => unknown>): Promise<{ lines: string[]; port?: number }> {
  try {
    const api = await startApi(relay, { port: relay.config.api.port, host: "127.0.0.1", noAuth: true });
    opened.push(() => api.close());
    const auth = relay.config.api.tokens ? "bearer token required" : "no token: loopback only";
    return {
      lines: [`• HTTP API                 ${api.url}/v1  (${auth})`, `• console                  ${api.url}/console`],
      port: Number(new URL(api.url).port),
    };
  } catch (error) {
    return { lines: [`• HTTP API not started: ${coerceError(error).message}`] };
  }
}

/** Runs at once, the one within its budget and those waiting for their last attempts. */
const MAX_FINISHING_RUNS = 4;

/** Waits `ms`, or for Ctrl-C; no timer is left to hold the process open after it. */
async function pause(ms: number, stop: Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([stop, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

export async function devCommand(io: CliIo): Promise<void> {
  const sandbox = !hasOwnCredentials(io.env) && !io.env.QUANMIAO_ENDPOINT;
  const env = { RELAY_LINGER: io.env.RELAY_TICK_INTERVAL ?? "10s", ...io.env };
  let checked: Config | undefined;
  if (sandbox) checkSandbox(io.env);
  else {
    checked = loadConfig(env);
    // Without credentials there is nothing to poll: say so now (exit 3), not in every run's log.
    await resolveCredentials(checked.credentials)();
  }

  const stop = io.stopSignal ?? untilSignal({ onFirst: () => io.out("stopping… (Ctrl-C again stops at once)\n") });
  // A lingering run wakes at Ctrl-C (and then ends: it was woken before its due time).
  const sleep = (ms: number) => pause(ms, stop);
  // One process runs the ticks and serves the API: GET /metrics counts what its runs did.
  const metrics = new PrometheusMetrics();
  const opened: Array<() => unknown> = [];
  let stopping = false;
  void stop.then(() => {
    stopping = true;
  });
  try {
    let relay: Relay;
    let lines: readonly string[];
    if (checked === undefined) {
      const started = await startSandbox(io, opened, { sleep, metrics });
      relay = started.relay;
      const api = await serveApi(relay, opened);
      // From here on, the CLI run in this folder acts on this sandbox (lib/cli/sandbox.ts).
      const port: Record<string, string> = api.port === undefined ? {} : { RELAY_API_PORT: String(api.port) };
      const url = (path: string) => (api.port === undefined ? undefined : `http://127.0.0.1:${api.port}${path}`);
      opened.push(
        announceSandbox({
          pid: process.pid,
          env: { ...started.env, ...port },
          apiUrl: url("/v1"),
          consoleUrl: url("/console"),
        }),
      );
      lines = [
        ...started.lines,
        ...api.lines,
        `Set ${CREDENTIAL_ENV.accessKeyId}/${CREDENTIAL_ENV.accessKeySecret} to poll the real API instead. Ctrl-C stops.`,
      ];
    } else {
      relay = await openRelay({ env, config: checked, logTo: io.err, sleep, metrics });
      opened.push(() => relay.close());
      // A store that refuses the key or instance is a start-up error (exit 5), not a line in every run.
      await relay.store.getSetting("healthz");
      const api = await serveApi(relay, opened);
      lines = [
        `quanmiao-relay: ticking every ${formatDuration(relay.config.tick.intervalMs)} against ${relay.config.quanmiao.endpoint}`,
        `• state                    ${storeText(relay.config)}`,
        ...api.lines,
        "Ctrl-C stops.",
      ];
    }
    io.out(`\n${lines.map((l) => `  ${l}`).join("\n")}\n\n`);

    // Runs past their budget, waiting for their last attempts (a webhook that never answers holds
    // one for a whole delivery timeout): a few at most, so that they cannot pile up.
    const finishing = new Set<Promise<unknown>>();
    // A run that throws ends the loop, as it did when each run was awaited in turn.
    let failed: { error: unknown } | undefined;
    while (!stopping && !failed) {
      if (finishing.size >= MAX_FINISHING_RUNS) await Promise.race(finishing);
      const budgetMs = Math.min(relay.config.tick.budgetMs, Math.max(relay.config.tick.intervalMs, 5_000));
      const ticking = relay.tick(budgetMs).then(
        (summary) => {
          // The sandbox's receiver already prints each delivery as it lands: a run is worth a line
          // there only when something went wrong, or the summaries would bury the webhooks.
          if (sandbox ? troubled(summary) : interesting(summary)) io.err(`${JSON.stringify({ tick: summary })}\n`);
        },
        (error: unknown) => {
          failed ??= { error };
        },
      );
      const settled = ticking.finally(() => finishing.delete(settled));
      finishing.add(settled);
      // The next run starts once this one's budget is spent, not once its slowest attempt ends: it
      // held every later poll and delivery for a whole delivery timeout, run after run. The rows
      // still in flight are leased to this run, so the next one leaves them be.
      await Promise.race([ticking, pause(budgetMs, stop)]);
      await pause(relay.config.tick.intervalMs, stop);
    }
    await Promise.all(finishing);
    if (failed) throw failed.error;
  } finally {
    for (const close of opened.reverse()) {
      try {
        await close();
      } catch (error) {
        io.err(`while stopping: ${coerceError(error).message}\n`);
      }
    }
  }
  io.out("stopped.\n");
}
