import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { onTestFinished } from "vitest";
import { SIM_CREDENTIAL, startSimulator } from "../../dev/quanmiao-simulator/server.js";
import { main } from "../../lib/cli.js";
import { tempDir } from "./relay.js";

/**
 * No sandbox runs here: a test's command never acts on the one `npm start` may be running in the
 * project's folder while the tests run.
 */
const NO_SANDBOX = mkdtempSync(join(tmpdir(), "quanmiao-relay-no-sandbox-"));

/** Runs the CLI in-process with captured output. */
export async function runCli(
  argv: string[],
  env: Record<string, string | undefined> = {},
): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main(argv, {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
    env,
    sandboxDir: NO_SANDBOX,
  });
  return { code, out, err };
}

/** A simulator and the environment that points the CLI at it, over a new SQLite file. */
export async function cliEnv() {
  const sim = await startSimulator({ runMs: 0 });
  onTestFinished(() => sim.close());
  const dir = tempDir();
  const env = {
    RELAY_STORE: `sqlite:${join(dir, "relay.db")}`,
    QUANMIAO_ENDPOINT: sim.url,
    ALIBABA_CLOUD_ACCESS_KEY_ID: SIM_CREDENTIAL.accessKeyId,
    ALIBABA_CLOUD_ACCESS_KEY_SECRET: SIM_CREDENTIAL.accessKeySecret,
    RELAY_ALLOW_PRIVATE_TARGETS: "true",
  };
  return { sim, env, dir };
}
