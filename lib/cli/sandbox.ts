/**
 * The sandbox that `npm start` runs without credentials, as the CLI sees it. While it runs, it
 * leaves `.relay/sandbox.json` in its folder: its process id, the variables that point the relay at
 * it (its store, the API simulator and the simulator's key) and its URLs. A command run in the same
 * folder with none of RELAY_STORE, QUANMIAO_ENDPOINT or Alibaba Cloud's credential variables set takes those
 * variables, so `tasks list`, `webhooks add` or `serve` act on what the sandbox is doing, with no
 * variable to set; it says so on stderr. Setting any of them opts out: an AccessKey secret set
 * without its id is a mistake to be told of (exit 3), not a reason to use the simulator's key. A
 * file left by a sandbox that no longer runs (killed) is ignored.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Env } from "../config.js";

export const SANDBOX_FILE = join(".relay", "sandbox.json");

export interface SandboxFile {
  readonly pid: number;
  /** What the CLI sets to act on the sandbox (they describe it, so they win over the user's). */
  readonly env: Readonly<Record<string, string>>;
  readonly apiUrl?: string | undefined;
  readonly consoleUrl?: string | undefined;
}

/** The variables whose presence means "not the sandbox": a store, an API or a key of one's own. */
const OWN_SETUP = ["RELAY_STORE", "QUANMIAO_ENDPOINT"] as const;
/** Alibaba Cloud's credentials, in any of the forms the relay reads (lib/quanmiao/credential-sources.ts). */
const OWN_CREDENTIALS = [
  "ALIBABA_CLOUD_ACCESS_KEY_ID",
  "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
  "ALIBABA_CLOUD_SECURITY_TOKEN",
  "ALIBABA_CLOUD_ROLE_ARN",
  "ALIBABA_CLOUD_OIDC_PROVIDER_ARN",
  "ALIBABA_CLOUD_OIDC_TOKEN_FILE",
  "ALIBABA_CLOUD_CREDENTIALS_FILE",
  "ALIBABA_CLOUD_CREDENTIALS_URI",
  "ALIBABA_CLOUD_ECS_METADATA",
] as const;

const isSet = (env: Env, name: string) => env[name] !== undefined && env[name] !== "";

/**
 * Whether any of Alibaba Cloud's credential variables is set: then `npm start` polls with them,
 * and says what is wrong with them (exit 3), rather than starting the sandbox.
 */
export function hasOwnCredentials(env: Env): boolean {
  return OWN_CREDENTIALS.some((name) => isSet(env, name));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The sandbox running in `dir`, if one is. */
export function runningSandbox(dir = "."): SandboxFile | undefined {
  let found: SandboxFile;
  try {
    found = JSON.parse(readFileSync(join(dir, SANDBOX_FILE), "utf8")) as SandboxFile;
  } catch {
    return undefined;
  }
  if (!Number.isInteger(found?.pid) || typeof found.env !== "object" || found.env === null) return undefined;
  return alive(found.pid) ? found : undefined;
}

/** Written by the sandbox once it serves; private, like the store beside it (it names the store). */
export function announceSandbox(file: SandboxFile, dir = "."): () => void {
  const path = join(dir, SANDBOX_FILE);
  writeFileSync(path, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  return () => rmSync(path, { force: true });
}

/**
 * The environment a command in `dir` runs with: the sandbox's variables added, when a
 * sandbox runs there and the user has not set up a relay of their own; and the note to print.
 */
export function sandboxEnv(env: Env, dir = "."): { env: Env; note?: string } {
  if (OWN_SETUP.some((name) => isSet(env, name)) || hasOwnCredentials(env)) return { env };
  const sandbox = runningSandbox(dir);
  if (!sandbox) {
    // A sandbox ran here before: without this, its state seems to vanish the moment it stops.
    if (!existsSync(join(dir, ".relay", "sandbox.db"))) return { env };
    return {
      env,
      note: "note: no sandbox is running in this folder (`npm start` runs one); this command uses the relay's own store, not the sandbox's.\n",
    };
  }
  const store = sandbox.env.RELAY_STORE?.replace(/^sqlite:/, "") ?? "its store";
  const simulator = sandbox.env.QUANMIAO_ENDPOINT ?? "its simulator";
  return {
    env: { ...env, ...sandbox.env },
    note:
      `note: acting on the sandbox that \`npm start\` runs in this folder (pid ${sandbox.pid}: store ${store}, ` +
      `API simulator ${simulator}); set RELAY_STORE or an AccessKey to use your own.\n`,
  };
}
