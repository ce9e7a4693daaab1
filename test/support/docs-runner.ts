/**
 * Running the documentation's shell blocks as a newcomer would: in a fresh folder, next to
 * `quanmiao-relay dev` (what `npm start` runs: the sandbox, on loopback, without credentials), with
 * `npx quanmiao-relay` resolving to this checkout and npm kept offline.
 *
 * What differs from a reader's terminal, and why:
 * - The documented ports (8787 the API, 8790 the simulator, 8791 the Tablestore emulator, 3000 a
 *   local receiver) are replaced in each block by free ones, so the check never meets another
 *   process's server; RELAY_API_PORT carries the API's to the sandbox and to the commands.
 * - curl runs with --fail-with-body, so a documented request that answers 4xx or 5xx fails the check
 *   (a reader sees the same answer, with its error body).
 */

import { type ChildProcess, spawn } from "node:child_process";
import {
  accessSync,
  closeSync,
  constants,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { type CodeBlock, commands } from "./docs.js";

export const DOCUMENTED_PORTS = [8787, 8790, 8791, 3000] as const;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

function which(command: string): string {
  for (const dir of (process.env.PATH ?? "").split(":")) {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return join(dir, command);
    } catch {
      // not here
    }
  }
  throw new Error(`the docs check needs ${command} on PATH`);
}

export interface DocsWorld {
  readonly dir: string;
  readonly env: Record<string, string>;
  readonly ports: ReadonlyMap<number, number>;
  readonly apiUrl: string;
  close(): Promise<void>;
}

/** The banner (where a server that did not start says so) and the latest lines. */
const tail = (text: string, n = 2_500) => (text.length > 2 * n ? `${text.slice(0, n)}\n…\n${text.slice(-n)}` : text);

async function waitFor<T>(what: string, ms: number, probe: () => Promise<T | undefined>, log: () => string) {
  const until = Date.now() + ms;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`${what} not within ${ms} ms; the sandbox said:\n${tail(log())}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function stopGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const kill = (signal: NodeJS.Signals) => {
    try {
      process.kill(-(child.pid as number), signal);
    } catch {
      // already gone
    }
  };
  kill("SIGTERM");
  const hard = setTimeout(() => kill("SIGKILL"), 5_000);
  return exited.finally(() => clearTimeout(hard));
}

/**
 * A fresh folder with the sandbox running in it (as after `npm start`), once it has delivered its
 * first webhook, so a reader's examples that need a delivery find one.
 */
export async function startDocsWorld(root: string): Promise<DocsWorld> {
  const dir = mkdtempSync(join(tmpdir(), "quanmiao-relay-docs-"));
  mkdirSync(join(dir, "node_modules/.bin"), { recursive: true });
  symlinkSync(join(root, "bin/quanmiao-relay.js"), join(dir, "node_modules/.bin/quanmiao-relay"));
  mkdirSync(join(dir, "shims"));
  writeFileSync(join(dir, "shims/curl"), `#!/bin/sh\nexec ${which("curl")} --fail-with-body "$@"\n`, { mode: 0o755 });
  mkdirSync(join(dir, "home"));
  const ports = new Map<number, number>();
  for (const port of DOCUMENTED_PORTS) ports.set(port, await freePort());
  const env: Record<string, string> = {
    PATH: [
      join(dir, "shims"),
      join(dir, "node_modules/.bin"),
      dirname(process.execPath),
      "/usr/local/bin",
      "/usr/bin",
      "/bin",
    ].join(":"),
    HOME: join(dir, "home"),
    LANG: "C.UTF-8",
    npm_config_offline: "true",
    npm_config_update_notifier: "false",
    npm_config_fund: "false",
    // The sandbox picks its API's port and announces it: a port picked here and handed over could
    // be taken meanwhile by a server a test beside this one started, and the API would not start.
    RELAY_API_PORT: "0",
  };
  const logPath = join(dir, "sandbox.log");
  const log = openSync(logPath, "w");
  const dev = spawn(process.execPath, [join(root, "bin/quanmiao-relay.js"), "dev"], {
    cwd: dir,
    env,
    detached: true,
    stdio: ["ignore", log, log],
  });
  closeSync(log);
  const sandboxLog = () => readFileSync(logPath, "utf8");
  const world = {
    dir,
    env,
    ports,
    apiUrl: "",
    async close() {
      await stopGroup(dev);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    const announced = await waitFor(
      "the sandbox's announcement of its API",
      30_000,
      async () => {
        const { apiUrl } = JSON.parse(readFileSync(join(dir, ".relay/sandbox.json"), "utf8")) as { apiUrl?: string };
        return apiUrl === undefined ? undefined : new URL(apiUrl);
      },
      sandboxLog,
    );
    world.apiUrl = announced.origin;
    ports.set(8787, Number(announced.port));
    env.RELAY_API_PORT = announced.port;
    await waitFor(
      "the sandbox's API",
      30_000,
      async () => ((await fetch(`${world.apiUrl}/v1/healthz`)).ok ? true : undefined),
      sandboxLog,
    );
    await waitFor(
      "the sandbox's first delivery",
      60_000,
      async () => {
        const page = (await (await fetch(`${world.apiUrl}/v1/deliveries?status=delivered&limit=1`)).json()) as {
          items?: unknown[];
        };
        return page.items?.length ? true : undefined;
      },
      sandboxLog,
    );
  } catch (error) {
    await world.close();
    throw error;
  }
  return world;
}

/** A block's text with the documented ports replaced by the world's. */
export function withPorts(text: string, ports: ReadonlyMap<number, number>): string {
  return text.replace(/\b(8787|8790|8791|3000)\b/g, (port) => String(ports.get(Number(port)) ?? port));
}

interface Script {
  readonly text: string;
  /** For each line of the script (0-based), where it came from in the docs. */
  readonly origin: ReadonlyArray<string | undefined>;
}

/** One shell script for one file's runnable and service blocks, in their order. */
export function sessionScript(blocks: readonly CodeBlock[], ports: ReadonlyMap<number, number>): Script {
  const lines: string[] = [
    "set -Eeuo pipefail",
    'trap \'printf "%s\\n" "$LINENO" > "$PWD/.docs-err-line"\' ERR',
    "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT",
    '__docs_wait_port() { for _ in $(seq 1 200); do (: <>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "nothing answers on port $1" >&2; return 1; }',
  ];
  const origin: Array<string | undefined> = lines.map(() => undefined);
  blocks.forEach((block, n) => {
    const body = withPorts(block.body, ports).split("\n");
    lines.push(`printf '%s\\n' '${block.file}:${block.line}' > "$PWD/.docs-block"`);
    origin.push(undefined);
    if (block.marker.kind === "service") {
      const command = commands(withPorts(block.body, ports))[0] ?? "";
      const port = /--port (\d+)/.exec(command)?.[1];
      lines.push(`${command} > "$PWD/.docs-service-${n}.log" 2>&1 &`, `__docs_wait_port ${port}`);
      origin.push(`${block.file}:${block.line + 1}`, `${block.file}:${block.line + 1}`);
      return;
    }
    body.forEach((line, i) => {
      lines.push(line);
      origin.push(`${block.file}:${block.line + 1 + i}`);
    });
  });
  return { text: `${lines.join("\n")}\n`, origin };
}

export interface SessionResult {
  readonly ok: boolean;
  /** Where it failed (file:line of the command, or of its block) and the output's tail. */
  readonly failure?: string;
}

/** Runs one file's script in the world's folder, in its own process group, within timeoutMs. */
export async function runSession(world: DocsWorld, script: Script, timeoutMs: number): Promise<SessionResult> {
  const at = (name: string) => join(world.dir, name);
  rmSync(at(".docs-err-line"), { force: true });
  writeFileSync(at(".docs-session.sh"), script.text);
  const outPath = at(".docs-session.log");
  const out = openSync(outPath, "w");
  const bash = spawn("bash", [at(".docs-session.sh")], {
    cwd: world.dir,
    env: world.env,
    detached: true,
    stdio: ["ignore", out, out],
  });
  closeSync(out);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void stopGroup(bash);
  }, timeoutMs);
  const code = await new Promise<number | null>((resolve) => bash.once("exit", (c) => resolve(c)));
  clearTimeout(timer);
  // Services started in the background (and anything they started) end with the session.
  try {
    process.kill(-(bash.pid as number), "SIGTERM");
  } catch {
    // nothing left
  }
  if (code === 0 && !timedOut) return { ok: true };
  const read = (name: string) => {
    try {
      return readFileSync(at(name), "utf8").trim();
    } catch {
      return "";
    }
  };
  const errLine = Number(read(".docs-err-line"));
  const where = (errLine && script.origin[errLine - 1]) || read(".docs-block") || "before the first block";
  const why = timedOut ? `did not finish within ${timeoutMs} ms` : `exited ${code}`;
  return {
    ok: false,
    failure: `${where} (block at ${read(".docs-block")}): ${why}\n${tail(read(".docs-session.log"))}`,
  };
}
