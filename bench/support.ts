/** Shared pieces of the benchmarks: servers in their own processes, timing, and the report. */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const CLI = fileURLToPath(new URL("../../bin/quanmiao-relay.js", import.meta.url));

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

export interface BenchRow {
  readonly bench: string;
  readonly case: string;
  readonly subject: number;
  readonly baseline: number;
  readonly unit: string;
  /** subject / baseline: what counts on a noisy machine. */
  readonly ratio: number;
}

export function report(rows: BenchRow[], json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify({ node: process.version, rows }, null, 2)}\n`);
    return;
  }
  const header = ["bench", "case", "subject", "baseline", "unit", "ratio"];
  const cells = rows.map((r) => [
    r.bench,
    r.case,
    r.subject.toFixed(0),
    r.baseline.toFixed(0),
    r.unit,
    r.ratio.toFixed(2),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] as string).length)));
  const line = (c: string[]) => c.map((v, i) => v.padEnd(widths[i] as number)).join("  ");
  process.stdout.write(`${line(header)}\n${line(widths.map((w) => "-".repeat(w)))}\n${cells.map(line).join("\n")}\n`);
}
