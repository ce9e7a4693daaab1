/**
 * `quanmiao-relay tick` in a process of its own, on the Tablestore emulator and the API simulator:
 * what the multi-process tests and benchmarks start several of at once.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { SIM_CREDENTIAL } from "./quanmiao-simulator/server.js";

/**
 * The environment of a relay process on the emulator and the simulator, with the one key both
 * accept (as a function's RAM role provides on FC).
 */
export function relayOnEmulatorsEnv(options: {
  readonly tablestore: { readonly url: string; readonly instance: string };
  readonly quanmiaoUrl: string;
}): Record<string, string | undefined> {
  return {
    PATH: process.env.PATH,
    RELAY_STORE: "tablestore",
    TABLESTORE_ENDPOINT: options.tablestore.url,
    TABLESTORE_INSTANCE: options.tablestore.instance,
    QUANMIAO_ENDPOINT: options.quanmiaoUrl,
    ALIBABA_CLOUD_ACCESS_KEY_ID: SIM_CREDENTIAL.accessKeyId,
    ALIBABA_CLOUD_ACCESS_KEY_SECRET: SIM_CREDENTIAL.accessKeySecret,
    RELAY_ALLOW_PRIVATE_TARGETS: "true",
    RELAY_API_QPS: "1000",
    RELAY_API_CONCURRENCY: "8",
    RELAY_TICK_BUDGET: "20s",
  };
}

/** Runs one tick of the CLI at `cli` (bin/quanmiao-relay.js) and resolves with its summary. */
export async function tickProcess(
  cli: string,
  env: Record<string, string | undefined>,
): Promise<{ polled: number; delivered: number }> {
  const child = spawn(process.execPath, [cli, "tick"], { env, stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout?.on("data", (d) => {
    out += d;
  });
  const [code] = await once(child, "exit");
  if (code !== 0) throw new Error(`quanmiao-relay tick exited with ${code}`);
  return JSON.parse(out) as { polled: number; delivered: number };
}
