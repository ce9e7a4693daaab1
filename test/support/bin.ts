/**
 * The built `quanmiao-relay` command in its own process, as a person runs it: its output as printed,
 * its exit code, signals. Every wait is bounded, and every process started is killed when the test
 * ends.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { onTestFinished } from "vitest";

export const BIN = fileURLToPath(new URL("../../bin/quanmiao-relay.js", import.meta.url));

/** A new empty folder (removed after the test), to run in as a fresh clone's folder would be. */
export function emptyFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), "quanmiao-bin-"));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Only PATH and a HOME with nothing in it: no AccessKey, no profile, nothing of the test's own. */
export function bareEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, ...extra };
}

export interface Running {
  readonly child: ChildProcess;
  out(): string;
  err(): string;
  /** Resolves once stdout or stderr (so far) matches, or rejects after `timeoutMs`. */
  waitFor(pattern: RegExp, stream?: "out" | "err", timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Its exit, or a rejection after `timeoutMs` (the process is then killed). */
  exited(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function start(args: readonly string[], options: { env: Record<string, string>; cwd: string }): Running {
  return startNode([BIN, ...args], options);
}

/** Any Node script, watched the same way. */
export function startNode(argv: readonly string[], options: { env: Record<string, string>; cwd: string }): Running {
  const child = spawn(process.execPath, argv, {
    env: options.env,
    cwd: options.cwd,
    stdio: ["ignore", "pipe", "pipe"],
  });
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  let out = "";
  let err = "";
  const listeners = new Set<() => void>();
  child.stdout?.on("data", (d) => {
    out += d;
    for (const l of listeners) l();
  });
  child.stderr?.on("data", (d) => {
    err += d;
    for (const l of listeners) l();
  });
  const exit = once(child, "exit").then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  const bounded = <T>(what: string, timeoutMs: number, promise: Promise<T>, cleanup: () => void) =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${what} within ${timeoutMs} ms\n--- stdout\n${out}\n--- stderr\n${err}`));
      }, timeoutMs);
      promise.then(
        (v) => {
          clearTimeout(timer);
          cleanup();
          resolve(v);
        },
        (e) => {
          clearTimeout(timer);
          cleanup();
          reject(e);
        },
      );
    });
  return {
    child,
    out: () => out,
    err: () => err,
    waitFor(pattern, stream = "out", timeoutMs = 10_000) {
      let check = () => {};
      const found = new Promise<RegExpMatchArray>((resolve, reject) => {
        check = () => {
          const m = (stream === "out" ? out : err).match(pattern);
          if (m) resolve(m);
        };
        check();
        exit.then(() => {
          check();
          reject(new Error(`exited before printing ${pattern}\n--- stdout\n${out}\n--- stderr\n${err}`));
        });
      });
      listeners.add(check);
      return bounded(`no ${pattern}`, timeoutMs, found, () => listeners.delete(check));
    },
    exited(timeoutMs = 10_000) {
      return bounded("no exit", timeoutMs, exit, () => {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      });
    },
  };
}

/** Runs a command to its end (killed after `timeoutMs`). */
export async function run(
  args: readonly string[],
  options: { env: Record<string, string>; cwd: string; timeoutMs?: number },
): Promise<{ code: number | null; out: string; err: string }> {
  const running = start(args, options);
  const { code } = await running.exited(options.timeoutMs ?? 20_000);
  return { code, out: running.out(), err: running.err() };
}
