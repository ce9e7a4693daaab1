import { spawnSync } from "node:child_process";
import { mkdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { EXIT } from "../../lib/cli/io.js";
import { announceSandbox, SANDBOX_FILE, sandboxEnv } from "../../lib/cli/sandbox.js";
import { main } from "../../lib/cli.js";
import { emptyFolder } from "../support/bin.js";

const SANDBOX = { RELAY_STORE: "sqlite:/x/.relay/sandbox.db", QUANMIAO_ENDPOINT: "http://127.0.0.1:5" };

function folderWith(pid: number): string {
  const dir = emptyFolder();
  mkdirSync(join(dir, ".relay"));
  announceSandbox({ pid, env: SANDBOX }, dir);
  return dir;
}

describe("the CLI beside a sandbox", () => {
  it("takes a running sandbox's variables, and says so", () => {
    const dir = folderWith(process.pid);
    expect(statSync(join(dir, SANDBOX_FILE)).mode & 0o777).toBe(0o600);
    const found = sandboxEnv({ PATH: "/bin", RELAY_LOG_LEVEL: "debug" }, dir);
    expect(found.env).toEqual({ PATH: "/bin", RELAY_LOG_LEVEL: "debug", ...SANDBOX });
    expect(found.note).toContain("store /x/.relay/sandbox.db");
  });

  it.each([
    ["RELAY_STORE"],
    ["QUANMIAO_ENDPOINT"],
    ["ALIBABA_CLOUD_ACCESS_KEY_ID"],
    // A secret without its id is told of (exit 3), not replaced by the simulator's key.
    ["ALIBABA_CLOUD_ACCESS_KEY_SECRET"],
    ["ALIBABA_CLOUD_ROLE_ARN"],
  ])("leaves a relay of one's own alone (%s set)", (name) => {
    const env = { [name]: "mine" };
    expect(sandboxEnv(env, folderWith(process.pid))).toEqual({ env });
  });

  it("looks for it in the folder the CLI is given (the tests give one with none, whatever runs beside them)", async () => {
    const run = async (sandboxDir: string, env: Record<string, string> = {}) => {
      let err = "";
      const code = await main(["get-task", "llm-x", "t"], {
        out: () => {},
        err: (t) => {
          err += t;
        },
        env,
        sandboxDir,
      });
      return { code, err };
    };
    expect((await run(folderWith(process.pid))).err).toContain("note: acting on the sandbox");
    expect((await run(emptyFolder())).err).not.toContain("acting on the sandbox");
    // A secret set alone is the user's own (mis)configuration, even beside a sandbox.
    const beside = await run(folderWith(process.pid), { ALIBABA_CLOUD_ACCESS_KEY_SECRET: "secret-without-id" });
    expect(beside.code).toBe(EXIT.config);
    expect(beside.err).toContain("ALIBABA_CLOUD_ACCESS_KEY_ID: is not set");
    expect(beside.err).not.toContain("acting on the sandbox");
  });

  it("ignores what a sandbox that no longer runs left behind, and a file that is not one", () => {
    const gone = spawnSync(process.execPath, ["-e", ""]).pid as number;
    expect(sandboxEnv({}, folderWith(gone))).toEqual({ env: {} });
    const dir = emptyFolder();
    mkdirSync(join(dir, ".relay"));
    writeFileSync(join(dir, SANDBOX_FILE), "{not json");
    expect(sandboxEnv({}, dir)).toEqual({ env: {} });
    expect(sandboxEnv({}, emptyFolder())).toEqual({ env: {} });
  });

  it("says so when a sandbox ran here and has stopped, rather than show its own store as if empty", () => {
    const dir = emptyFolder();
    mkdirSync(join(dir, ".relay"));
    writeFileSync(join(dir, ".relay", "sandbox.db"), "");
    const after = sandboxEnv({}, dir);
    expect(after.env).toEqual({});
    expect(after.note).toMatch(/^note: no sandbox is running in this folder/);
    expect(sandboxEnv({ RELAY_STORE: "sqlite:mine.db" }, dir)).toEqual({ env: { RELAY_STORE: "sqlite:mine.db" } });
  });
});
