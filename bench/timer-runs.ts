/**
 * The relay as a timer runs it: `quanmiao-relay tick` in a fresh process, one after another, each
 * starting a moment after the last one ended. A run still going at the window's end is killed, as
 * a platform kills an invocation at its timeout, so that a relay stuck for minutes still gives a
 * bounded benchmark; its duration is then only known to be at least what it had run.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { CLI } from "./support.js";

export interface TimerRun {
  /** The run's own figure (its summary's durationMs), or how long it had run when killed. */
  readonly durationMs: number;
  readonly killed: boolean;
  /** Deliveries its summary reports made (0 when killed: it never reported). */
  readonly delivered: number;
}

async function tickProcess(env: Record<string, string>, killAtMs: number): Promise<TimerRun> {
  const started = performance.now();
  const child = spawn(process.execPath, [CLI, "tick", "--json"], { env, stdio: ["ignore", "pipe", "ignore"] });
  let out = "";
  child.stdout.on("data", (chunk: Buffer) => {
    out += chunk;
  });
  let killed = false;
  const killer = setTimeout(
    () => {
      killed = true;
      child.kill("SIGKILL");
    },
    Math.max(0, killAtMs - performance.now()),
  );
  // "close", not "exit": the summary may still be in the pipe when the process has exited.
  const [code] = (await once(child, "close")) as [number | null];
  clearTimeout(killer);
  if (killed) return { durationMs: performance.now() - started, killed, delivered: 0 };
  if (code !== 0) throw new Error(`quanmiao-relay tick exited with ${code}`);
  const summary = JSON.parse(out) as { durationMs: number; delivered: number };
  return { durationMs: summary.durationMs, killed, delivered: summary.delivered };
}

/**
 * Runs until `wanted` deliveries were made or `windowMs` has passed, `gapMs` apart. Configuration
 * (store, budget, concurrency …) comes from `env`, as it would on a server.
 */
export async function timerRuns(
  env: Record<string, string>,
  options: { wanted: number; windowMs: number; gapMs: number },
): Promise<TimerRun[]> {
  const endAtMs = performance.now() + options.windowMs;
  const runs: TimerRun[] = [];
  let delivered = 0;
  while (delivered < options.wanted && performance.now() < endAtMs) {
    const run = await tickProcess(env, endAtMs);
    runs.push(run);
    delivered += run.delivered;
    if (delivered < options.wanted && !run.killed) await sleep(options.gapMs);
  }
  return runs;
}
