import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { describe, expect, it, onTestFinished } from "vitest";
import { SIM_CREDENTIAL, startSimulator } from "../../../dev/quanmiao-simulator/server.js";
import { EXIT } from "../../../lib/cli.js";
import { createQuanmiaoClient } from "../../../lib/quanmiao/client.js";
import { staticCredentials } from "../../../lib/quanmiao/credentials.js";
import { runCli } from "../../support/cli.js";

async function simEnv() {
  const sim = await startSimulator({ runMs: 0 });
  onTestFinished(() => sim.close());
  const env = {
    QUANMIAO_ENDPOINT: sim.url,
    ALIBABA_CLOUD_ACCESS_KEY_ID: SIM_CREDENTIAL.accessKeyId,
    ALIBABA_CLOUD_ACCESS_KEY_SECRET: SIM_CREDENTIAL.accessKeySecret,
  };
  return { sim, env };
}

describe("quanmiao-relay get-task / submit", () => {
  it("submit prints the task id; get-task prints the data object exactly as the API sent it", async () => {
    const { sim, env } = await simEnv();
    const submitted = await runCli(
      [
        "submit",
        "llm-cli",
        "--video-url",
        "https://v.example.com/a.mp4",
        "--generate-option",
        "videoAnalysis",
        "--param",
        "snapshotInterval=2",
      ],
      env,
    );
    expect(submitted).toMatchObject({ code: EXIT.ok, err: "" });
    const taskId = submitted.out.trim();
    expect(sim.workspace("llm-cli").tasks.get(taskId)?.request).toMatchObject({
      generateOptions: '["videoAnalysis"]',
      snapshotInterval: "2",
    });
    const got = await runCli(["get-task", "llm-cli", taskId], env);
    expect(got.code).toBe(EXIT.ok);
    expect(JSON.parse(got.out)).toEqual(sim.taskData("llm-cli", taskId));
  });

  it("an API error is one line on stderr with class, code, message and request id, and a meaningful exit", async () => {
    const { sim, env } = await simEnv();
    const missing = await runCli(["get-task", "llm-cli", "nope"], env);
    expect(missing.code).toBe(EXIT.notFound);
    expect(missing.out).toBe("");
    expect(missing.err).toMatch(/^error: TaskNotFoundError DataNotExists: .+ \[requestId [0-9A-F-]+\]\n$/);
    sim.denyWorkspace("llm-denied");
    const denied = await runCli(["get-task", "llm-denied", "t"], env);
    expect(denied.code).toBe(EXIT.auth);
    expect(denied.err).toMatch(/^error: AuthError NoPermission: .+\n$/);
    sim.faults.inject({ fault: { kind: "serverError", status: 503 }, times: 1 });
    expect((await runCli(["get-task", "llm-cli", "t"], env)).code).toBe(EXIT.retryable);
  });

  it.each([
    [["get-task", "", "t"]],
    [["get-task", "   ", "t"]],
    [["get-task", "llm-x", "x".repeat(257)]],
    [["get-task", "llm-x", "a\u0007b"]],
    [["submit", "llm-x"]],
    [["submit", "llm-x", "--video-url", "not a url"]],
    [["submit", "llm-x", "--video-url", "localhost:3000/a.mp4"]],
    [["submit", "llm-x", "--video-url", "https://v.example.com/a.mp4", "--param", 'videoUrls=["a.mp4"]']],
    [["submit", "llm-x", "--video-url", "https://v.example.com/a.mp4", "--deduplication-id", " "]],
    [["submit", "llm-x", "--video-url", "https://v.example.com/a.mp4", "--param", "novalue"]],
    // Deeper than the API takes (32): it overflowed the stack, an internal error (exit 1).
    [
      [
        "submit",
        "llm-x",
        "--video-url",
        "https://v.example.com/a.mp4",
        "--param",
        `deep=${"[".repeat(5000)}${"]".repeat(5000)}`,
      ],
    ],
    [["get-task", "llm-x"]],
    [["no-such-command"]],
  ])("%j is a usage error before any request", async (argv) => {
    const { sim, env } = await simEnv();
    const result = await runCli(argv, env);
    expect(result.code).toBe(EXIT.usage);
    expect(result.err).not.toBe("");
    expect(sim.stats().calls).toEqual({
      GetVideoAnalysisTask: 0,
      GetVideoAnalysisConfig: 0,
      SubmitVideoAnalysisTask: 0,
    });
    expect(sim.stats().connections).toBe(0);
  });

  it("bad configuration names every bad variable at once, exit 3, and never echoes the secret", async () => {
    const result = await runCli(["get-task", "llm-x", "t"], {
      QUANMIAO_ENDPOINT: "http://example.com",
      QUANMIAO_REQUEST_TIMEOUT: "soon",
      QUANMIAO_CONNECTIONS: "0",
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: "secret-without-id",
    });
    expect(result.code).toBe(EXIT.config);
    expect(result.err).toContain("QUANMIAO_ENDPOINT");
    expect(result.err).toContain("QUANMIAO_REQUEST_TIMEOUT");
    expect(result.err).toContain("QUANMIAO_CONNECTIONS");
    const half = await runCli(["get-task", "llm-x", "t"], { ALIBABA_CLOUD_ACCESS_KEY_SECRET: "secret-without-id" });
    expect(half.code).toBe(EXIT.config);
    expect(half.err).toContain("ALIBABA_CLOUD_ACCESS_KEY_ID: is not set");
    expect(half.err).not.toContain("secret-without-id");
  });
});

describe("the built command in its own process", () => {
  it("`simulator --port 0` prints its URL first and serves signed requests; --help works", async () => {
    const child = spawn(process.execPath, ["bin/quanmiao-relay.js", "simulator", "--port", "0"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    onTestFinished(() => {
      child.kill("SIGKILL");
    });
    const lines = createInterface({ input: child.stdout });
    const [url] = (await once(lines, "line")) as [string];
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const client = createQuanmiaoClient({ endpoint: url, credentials: staticCredentials(SIM_CREDENTIAL) });
    expect((await client.getConfig("llm-any")).asyncConcurrency).toBe(2);
    await client.close();
    child.kill("SIGINT");
    const [code] = await once(child, "exit");
    expect(code).toBe(0);

    const help = spawn(process.execPath, ["bin/quanmiao-relay.js", "--help"], { stdio: ["ignore", "pipe", "inherit"] });
    let text = "";
    help.stdout.on("data", (d) => {
      text += d;
    });
    const [helpCode] = await once(help, "exit");
    expect(helpCode).toBe(0);
    expect(text).toContain("get-task [options] <workspaceId> <taskId>");
  });
});
