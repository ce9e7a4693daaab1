/** The FC bundles as FC runs them: copied away from node_modules, called in a fresh Node process. */
import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { onTestFinished } from "vitest";

const run = promisify(execFile);

/** Copies dist/<fn> somewhere with no node_modules above it: the bundle must stand alone. */
export function isolated(fn: string): string {
  const dir = mkdtempSync(join(tmpdir(), `fc-${fn}-`));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(new URL(`../../dist/${fn}`, import.meta.url).pathname, dir, { recursive: true });
  return join(dir, "index.js");
}

/** Calls a bundle's handler in a fresh Node process, as FC would: event as a Buffer, then context. */
export async function invokeBundle(bundle: string, event: unknown, context: unknown, env: Record<string, string>) {
  const script = `
    const { handler } = await import(${JSON.stringify(bundle)});
    const out = await handler(Buffer.from(process.argv[1]), JSON.parse(process.argv[2]));
    process.stdout.write("\\n@@" + JSON.stringify(out));`;
  const { stdout } = await run(
    process.execPath,
    ["--input-type=module", "-e", script, JSON.stringify(event), JSON.stringify(context)],
    { env: { PATH: process.env.PATH ?? "", ...env }, cwd: tmpdir() },
  );
  return JSON.parse(stdout.slice(stdout.lastIndexOf("@@") + 2));
}
