/**
 * The local Tablestore as a newcomer sets it up: the emulator's and the simulator's banners, their
 * lines pasted as printed into a shell, and the relay run from that shell against both.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { EXIT } from "../../../lib/cli.js";
import { BIN, bareEnv, emptyFolder, run, start } from "../../support/bin.js";

/** The lines a banner tells to paste: indented shell lines (`export …`, `npx …`), as printed. */
function pasteBlock(banner: string): string[] {
  return banner
    .split("\n")
    .filter((line) => /^ {2}(export |npx )/.test(line))
    .map((line) => line.trim());
}

describe("the Tablestore emulator's banner", () => {
  it("prints a block that, pasted as it is beside the simulator's, runs the relay against both", async () => {
    const cwd = emptyFolder();
    const env = bareEnv(cwd);
    const emulator = start(["tablestore-emulator", "--port", "0"], { env, cwd });
    const simulator = start(["simulator", "--port", "0"], { env, cwd });
    await emulator.waitFor(/Ctrl-C stops it\.\n/, "err");
    await simulator.waitFor(/Ctrl-C stops it\.\n/, "err");

    const block = pasteBlock(emulator.err());
    const url = emulator.out().trim();
    expect(block).toEqual([
      "export RELAY_STORE=tablestore",
      `export TABLESTORE_ENDPOINT=${url}`,
      "export TABLESTORE_INSTANCE=relay",
      expect.stringMatching(/^export ALIBABA_CLOUD_ACCESS_KEY_ID=\S+$/),
      expect.stringMatching(/^export ALIBABA_CLOUD_ACCESS_KEY_SECRET=\S+$/),
      "npx quanmiao-relay init",
    ]);
    // One key for both: the simulator's banner prints the same two key lines.
    const simulatorBlock = pasteBlock(simulator.err());
    const keyLines = (lines: string[]) => lines.filter((l) => l.startsWith("export ALIBABA_CLOUD_"));
    expect(keyLines(simulatorBlock)).toEqual(keyLines(block));

    // What a person types after pasting both (`npx quanmiao-relay` is this project's bin).
    const relay = `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)}`;
    const script = [
      ...simulatorBlock,
      ...block,
      "TASK=$(npx quanmiao-relay submit llm-demo --video-url https://videos.example.com/a.mp4)",
      'npx quanmiao-relay tasks add llm-demo "$TASK"',
      "npx quanmiao-relay tick",
    ]
      .map((line) => line.replace(/^npx quanmiao-relay\b/, relay).replace(/\$\(npx quanmiao-relay\b/, `$(${relay}`))
      .join("\n");
    const { stdout, stderr } = await promisify(execFile)("bash", ["--norc", "--noprofile", "-euc", script], {
      env,
      cwd,
      timeout: 30_000,
    });
    const [init, added, tick] = stdout.trim().split("\n");
    expect(JSON.parse(init as string)).toMatchObject({ store: "tablestore" });
    expect(JSON.parse(init as string).created).toContain("relay_tasks");
    expect(added).toMatch(/^registered: llm-demo\/\w+$/);
    expect(JSON.parse(tick as string)).toMatchObject({ polled: 1, errors: 0 });
    expect(stderr).toBe("");

    for (const server of [emulator, simulator]) {
      server.child.kill("SIGINT");
      expect((await server.exited()).code).toBe(EXIT.ok);
    }
  });

  it("accepts the relay's own AccessKey too when started with one, and says so without its secret", async () => {
    const cwd = emptyFolder();
    const key = { ALIBABA_CLOUD_ACCESS_KEY_ID: "my-own-key-id", ALIBABA_CLOUD_ACCESS_KEY_SECRET: "my-own-secret" };
    const emulator = start(["tablestore-emulator", "--port", "0"], { env: bareEnv(cwd, key), cwd });
    await emulator.waitFor(/Ctrl-C stops it\.\n/, "err");
    expect(emulator.err()).toContain("Your own AccessKey (my-own-key-id) works here as well.");
    expect(emulator.err()).not.toContain("my-own-secret");
    const store = {
      RELAY_STORE: "tablestore",
      TABLESTORE_ENDPOINT: emulator.out().trim(),
      TABLESTORE_INSTANCE: "relay",
    };
    // Forgetting init is said so, as a setup step (exit 3), not an unexplained failure.
    const early = await run(["tasks", "list"], { env: bareEnv(cwd, { ...key, ...store }), cwd });
    expect(early.code).toBe(EXIT.config);
    expect(early.err).toMatch(/OTSObjectNotExist: .+ \(run `quanmiao-relay init` to create the tables\)/);
    const init = await run(["init"], { env: bareEnv(cwd, { ...key, ...store }), cwd });
    expect(init.code, init.err).toBe(EXIT.ok);
    const other = { ...key, ALIBABA_CLOUD_ACCESS_KEY_SECRET: "another-secret" };
    expect((await run(["init"], { env: bareEnv(cwd, { ...other, ...store }), cwd })).code).toBe(EXIT.auth);
  });
});
