/** The video duration hint from the CLI: `tasks add --video-duration`, `tasks import`, `tasks show`. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { EXIT } from "../../../lib/cli.js";
import { cliEnv, runCli } from "../../support/cli.js";

describe("video duration hints in the CLI", () => {
  it("tasks add --video-duration stores it; tasks show prints it, unknown without one", async () => {
    const { env } = await cliEnv();
    const added = await runCli(["tasks", "add", "llm-a", "t1", "--video-duration", "93.5", "--json"], env);
    expect(added.code).toBe(EXIT.ok);
    expect(JSON.parse(added.out).task.videoDurationSeconds).toBe(93.5);
    expect((await runCli(["tasks", "add", "llm-a", "t2"], env)).code).toBe(EXIT.ok);

    const shown = await runCli(["tasks", "show", "llm-a", "t1"], env);
    expect(shown.code).toBe(EXIT.ok);
    expect(shown.out).toMatch(/^ {2}video duration {4}93\.5 s$/m);
    expect((await runCli(["tasks", "show", "llm-a", "t2"], env)).out).toMatch(/^ {2}video duration {4}unknown$/m);
    const json = JSON.parse((await runCli(["tasks", "show", "llm-a", "t2", "--json"], env)).out);
    expect(json.task.videoDurationSeconds).toBeNull();
  });

  it.each([
    ["0", /--video-duration: must be a number of seconds above 0 and under 86400 \(24 h\); got 0$/m],
    ["-1", /got -1$/m],
    ["86400", /got 86400$/m],
    ["1e400", /got Infinity$/m],
    ["abc", /--video-duration: "abc" is not a number of seconds/],
    ["0x10", /"0x10" is not a number/],
    ["", /"" is not a number/],
  ])("--video-duration %j is a usage error (exit 2), nothing written", async (value, message) => {
    const { env } = await cliEnv();
    const result = await runCli(["tasks", "add", "llm-a", "t", `--video-duration=${value}`], env);
    expect(result.code).toBe(EXIT.usage);
    expect(result.err).toMatch(message);
    expect(JSON.parse((await runCli(["tasks", "list", "--json"], env)).out).items).toEqual([]);
  });

  it("tasks import reads the hint from NDJSON and a fourth CSV column; a bad one is a line's problem", async () => {
    const { env, dir } = await cliEnv();
    const file = join(dir, "tasks.txt");
    writeFileSync(
      file,
      [
        "llm-a,t1,,12.5",
        '{"workspaceId":"llm-a","taskId":"t2","videoDurationSeconds":600}',
        "llm-a,t3,,abc",
        '{"workspaceId":"llm-a","taskId":"t4","videoDurationSeconds":-3}',
        "llm-a,t5",
      ].join("\n"),
    );
    const result = await runCli(["tasks", "import", file], env);
    expect(result.code).toBe(EXIT.failure);
    expect(JSON.parse(result.out)).toEqual({ imported: 3, alreadyRegistered: 0, rejected: 2 });
    expect(result.err).toMatch(/^line 3: videoDurationSeconds: must be .* got NaN$/m);
    expect(result.err).toMatch(/^line 4: videoDurationSeconds: must be .* got -3$/m);
    const listed = JSON.parse((await runCli(["tasks", "list", "--json"], env)).out).items as Array<{
      taskId: string;
      videoDurationSeconds: number | null;
    }>;
    expect(Object.fromEntries(listed.map((t) => [t.taskId, t.videoDurationSeconds]))).toEqual({
      t1: 12.5,
      t2: 600,
      t5: null,
    });
  });
});
