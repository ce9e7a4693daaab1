/**
 * The CLI's --json prints what the HTTP API answers: the same store is read through both, and the
 * outputs compared whole and checked against the OpenAPI document's response schemas.
 */
import { describe, expect, it } from "vitest";
import { SIM_CREDENTIAL } from "../../../dev/quanmiao-simulator/server.js";
import { EXIT } from "../../../lib/cli.js";
import { apiHarness } from "../../support/api.js";
import { cliEnv, runCli } from "../../support/cli.js";
import { responseChecker } from "../../support/openapi.js";
import { startReceiver } from "../../support/receiver.js";

/** Long-running commands that stream lines or serve: they print no single result to shape as JSON. */
const STREAMING = ["simulator", "tablestore-emulator", "eventbridge-emulator", "serve", "listen", "dev"];

/** The commands `--help` lists under "Commands:" (wrapped descriptions skipped). */
function commandsIn(help: string): string[] {
  const section = help.split("Commands:\n")[1]?.split("\n\n")[0] ?? "";
  return section
    .split("\n")
    .map((line) => /^ {2}([a-z][a-z-]*)/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined && name !== "help");
}

describe("the CLI's JSON output", () => {
  it("every command that prints a result takes --json (found from --help, so a new command is checked too)", async () => {
    const missing: string[] = [];
    for (const top of commandsIn((await runCli(["--help"])).out)) {
      if (STREAMING.includes(top)) continue;
      const help = (await runCli([top, "--help"])).out;
      const subcommands = commandsIn(help);
      for (const argv of subcommands.length > 0 ? subcommands.map((s) => [top, s]) : [[top]]) {
        const own = (await runCli([...argv, "--help"])).out;
        if (!/^ {2}--json\b/m.test(own)) missing.push(argv.join(" "));
      }
    }
    expect(missing).toEqual([]);
    expect(commandsIn((await runCli(["tasks", "--help"])).out)).toEqual(["add", "list", "show", "import"]);
  });

  it("tasks, webhooks and deliveries print the API's views: the same JSON, matching the OpenAPI schemas", async () => {
    const h = await apiHarness();
    const env = {
      RELAY_STORE: `sqlite:${(h.relay.config.store as { path: string }).path}`,
      QUANMIAO_ENDPOINT: h.sim.url,
      ALIBABA_CLOUD_ACCESS_KEY_ID: SIM_CREDENTIAL.accessKeyId,
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: SIM_CREDENTIAL.accessKeySecret,
      RELAY_ALLOW_PRIVATE_TARGETS: "true",
    };
    const api = async (method: string, path: string) => (await h.call("node", { method, path })).json;
    const check = responseChecker(await api("GET", "/v1/openapi.json"));
    const cli = async (argv: string[], operation: string, status = 200) => {
      const result = await runCli([...argv, "--json"], env);
      expect(result.code, `${argv.join(" ")}: ${result.err}`).toBe(EXIT.ok);
      const printed = JSON.parse(result.out);
      expect(check.errors(operation, status, printed), argv.join(" ")).toBeUndefined();
      return printed;
    };

    const rx = await startReceiver({ secret: () => [], now: () => Date.now() });
    const hook = await cli(["webhooks", "add", rx.url], "POST /v1/webhooks", 201);
    const task = h.sim.addTask("llm-views", { outcome: "SUCCESSED", runMs: 0 });
    const added = await cli(["tasks", "add", "llm-views", task.taskId], "POST /v1/tasks", 201);
    expect(added.task).not.toHaveProperty("leaseUntilMs");
    expect(added.task).not.toHaveProperty("pollsInStatus");
    await h.relay.tick(5_000);

    const taskPath = `/v1/tasks/llm-views/${task.taskId}`;
    expect(await cli(["tasks", "add", "llm-views", task.taskId], "POST /v1/tasks")).toEqual({
      created: false,
      task: (await api("GET", taskPath)).task,
    });
    expect(await cli(["tasks", "list"], "GET /v1/tasks")).toEqual(await api("GET", "/v1/tasks"));
    expect(await cli(["tasks", "show", "llm-views", task.taskId], "GET /v1/tasks/{workspaceId}/{taskId}")).toEqual(
      await api("GET", taskPath),
    );
    // As every output prints a task (workspace/task), pasted back: the same task.
    expect(await cli(["tasks", "show", `llm-views/${task.taskId}`], "GET /v1/tasks/{workspaceId}/{taskId}")).toEqual(
      await api("GET", taskPath),
    );
    const half = await runCli(["tasks", "show", "llm-views"], env);
    expect([half.code, half.err]).toEqual([EXIT.usage, expect.stringContaining("taskId: missing: give the workspace")]);
    const deliveries = await cli(["deliveries", "list"], "GET /v1/deliveries");
    expect(deliveries).toEqual(await api("GET", "/v1/deliveries"));
    expect(deliveries.items).toHaveLength(1);
    expect(deliveries.next).toBeNull();
    // The table's words are the API's: the id a receiver sees as `webhook-id` is the message id.
    const table = (await runCli(["deliveries", "list"], env)).out.split("\n");
    expect(table[0]).toMatch(/^TIME +EVENT TYPE +ENDPOINT +STATUS +ATTEMPTS +LAST STATUS +MESSAGE ID +LAST ERROR$/);
    expect(table[1]).toMatch(
      new RegExp(`^\\S+ +video_analysis\\.\\w+ +\\S+ +delivered +1 +\\d{3} +${deliveries.items[0].id}`),
    );
    expect(await cli(["webhooks", "list"], "GET /v1/webhooks")).toEqual(await api("GET", "/v1/webhooks"));
    expect(await cli(["webhooks", "show", hook.id], "GET /v1/webhooks/{id}")).toEqual(
      await api("GET", `/v1/webhooks/${hook.id}`),
    );
    expect(await cli(["webhooks", "disable", hook.id], "PATCH /v1/webhooks/{id}")).toEqual(
      await api("GET", `/v1/webhooks/${hook.id}`),
    );
    const replayed = await cli(
      ["deliveries", "replay", deliveries.items[0].id],
      "POST /v1/deliveries/{id}/replay",
      202,
    );
    const { attemptLog: _a, event: _e, ...view } = await api("GET", `/v1/deliveries/${replayed.id}`);
    expect(replayed).toEqual(view);
  });

  it("submit --json and get-task --json print JSON; an enum option's unknown value is a usage error", async () => {
    const { sim, env } = await cliEnv();
    const submitted = await runCli(["submit", "llm-cli", "--video-url", "https://v.example.com/a.mp4", "--json"], env);
    expect(submitted.code, submitted.err).toBe(EXIT.ok);
    const { workspaceId, taskId, requestId } = JSON.parse(submitted.out);
    expect(workspaceId).toBe("llm-cli");
    expect(requestId).toEqual(expect.any(String));
    const got = await runCli(["get-task", "llm-cli", taskId, "--json"], env);
    expect(got.code, got.err).toBe(EXIT.ok);
    expect(JSON.parse(got.out)).toEqual(sim.taskData("llm-cli", taskId));

    for (const argv of [
      ["tasks", "list", "--status", "banana"],
      ["tasks", "list", "--status", "running", "--json"],
      ["deliveries", "list", "--status", "retrying", "--json"],
    ]) {
      const refused = await runCli(argv, env);
      expect(refused.code, argv.join(" ")).toBe(EXIT.usage);
      expect(refused.out).toBe("");
      expect(refused.err).toMatch(/argument '\w+' is invalid\. Allowed choices are [A-Za-z, ]+\./);
    }
  });
});
