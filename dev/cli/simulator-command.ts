/** `simulator`: a local Quanmiao API in its own process, until Ctrl-C. */

import type { CliIo } from "../../lib/cli/io.js";
import { untilSignal } from "../../lib/cli/signals.js";
import { loadKeyPair } from "../../lib/config.js";
import { parseDuration } from "../../lib/duration.js";
import { InputError } from "../../lib/errors.js";
import { SIM_CREDENTIAL, type SimulatorOptions, startSimulator } from "../quanmiao-simulator/server.js";

function ratio(name: string, text: unknown): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new InputError(`${name} must be a number from 0 to 1`);
  return n;
}

function runTime(text: string): number | [number, number] {
  const [low = "", high] = text.split("-");
  const min = parseDuration(low);
  const max = high === undefined ? min : parseDuration(high);
  if (min === undefined || max === undefined || max < min) {
    throw new InputError(`--run-time "${text}" must be a duration or a range like 10s-2m`);
  }
  return high === undefined ? min : [min, max];
}

export function simulatorOptions(
  options: Record<string, unknown>,
  relayKey?: { readonly accessKeyId: string; readonly accessKeySecret: string },
): SimulatorOptions {
  const port = Number(options.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new InputError("--port must be 0 to 65535");
  const workspaces: Record<string, number> = {};
  for (const spec of (options.workspace as string[]) ?? []) {
    const [id = "", concurrency = "2"] = spec.split("=");
    const n = Number(concurrency);
    if (!id || !Number.isInteger(n) || n < 1 || n > 100) {
      throw new InputError(`--workspace "${spec}" must look like llm-xxxx=5 (concurrency 1 to 100)`);
    }
    workspaces[id] = n;
  }
  // The relay's own AccessKey too (ALIBABA_CLOUD_*), so one set of credentials serves every dev server.
  const credentials = relayKey ? [SIM_CREDENTIAL, relayKey] : [SIM_CREDENTIAL];
  if (options.accessKeyId || options.accessKeySecret) {
    if (!options.accessKeyId || !options.accessKeySecret) {
      throw new InputError("--access-key-id and --access-key-secret go together");
    }
    credentials.push({ accessKeyId: String(options.accessKeyId), accessKeySecret: String(options.accessKeySecret) });
  }
  const defaultConcurrency = Number(options.concurrency ?? 2);
  if (!Number.isInteger(defaultConcurrency) || defaultConcurrency < 1 || defaultConcurrency > 1_000) {
    throw new InputError("--concurrency must be 1 to 1000");
  }
  return {
    port,
    workspaces,
    defaultConcurrency,
    openWorkspaces: !options.closed,
    runMs: runTime(String(options.runTime)),
    failureRate: ratio("--failure-rate", options.failureRate),
    cancelRate: ratio("--cancel-rate", options.cancelRate),
    credentials,
    verifySignatures: options.auth !== false,
    ...(typeof options.seed === "string" ? { seed: options.seed } : {}),
  };
}

export async function simulatorCommand(io: CliIo, options: Record<string, unknown>): Promise<void> {
  const sim = await startSimulator(simulatorOptions(options, loadKeyPair(io.env)));
  if (options.latency !== undefined) {
    const ms = parseDuration(String(options.latency));
    if (ms === undefined) {
      await sim.close();
      throw new InputError(`--latency "${String(options.latency)}" must be a duration, e.g. 100ms`);
    }
    sim.faults.inject({ fault: { kind: "latency", ms } });
  }
  io.out(`${sim.url}\n`);
  io.err(
    `Quanmiao API simulator listening. Point the relay at it with:\n` +
      `  export QUANMIAO_ENDPOINT=${sim.url}\n` +
      `  export ALIBABA_CLOUD_ACCESS_KEY_ID=${SIM_CREDENTIAL.accessKeyId}\n` +
      `  export ALIBABA_CLOUD_ACCESS_KEY_SECRET=${SIM_CREDENTIAL.accessKeySecret}\n` +
      `Ctrl-C stops it.\n`,
  );
  await (io.stopSignal ?? untilSignal());
  const { calls, rejected, connections } = sim.stats();
  await sim.close();
  io.err(`simulator stopped: ${JSON.stringify({ calls, rejected, connections })}\n`);
}
