/**
 * Cold start: how long a fresh Node process takes to import each FC bundle (poll, deliver), the
 * median of `runs` processes, against importing the tablestore SDK alone in the same way (what each
 * bundle carried before the relay spoke to Tablestore itself). And each bundle's size.
 */
import { execFileSync } from "node:child_process";
import { statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { median, row, type ScenarioRow } from "./support.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Milliseconds to require `target` in a fresh process, timed inside it (process start-up excluded). */
function importMs(target: string): number {
  const script = `const t = performance.now(); require(${JSON.stringify(target)}); process.stdout.write(String(performance.now() - t));`;
  return Number(execFileSync(process.execPath, ["-e", script], { cwd: ROOT, encoding: "utf8" }));
}

export async function benchColdStart(runs: number): Promise<ScenarioRow[]> {
  const sdk = median(Array.from({ length: runs }, () => importMs("tablestore")));
  const rows: ScenarioRow[] = [];
  for (const fn of ["poll", "deliver"]) {
    const bundle = `${ROOT}dist/${fn}/index.js`;
    const ms = median(Array.from({ length: runs }, () => importMs(bundle)));
    const name = `cold start (median of ${runs} fresh processes)`;
    rows.push(row(name, `${fn} bundle import (vs the tablestore SDK alone)`, ms, "ms", sdk));
    rows.push(row(name, `${fn} bundle size`, statSync(bundle).size / 1024, "KiB", null));
  }
  return rows;
}
