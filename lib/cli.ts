/**
 * The `quanmiao-relay` command. This module only wires commands to the library; each command's
 * work lives in lib/cli/*, loaded when that command runs so that `--help` stays fast.
 */
import { Command, CommanderError } from "commander";
import type { Env } from "./config.js";
import { VERSION } from "./version.js";

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  readonly env: Env;
  /** Resolves when a long-running command (simulator) should stop; default: SIGINT or SIGTERM. */
  readonly stopSignal?: Promise<void>;
}

/** Exit codes scripts can branch on. */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  config: 3,
  notFound: 4,
  auth: 5,
  /** Transient, throttled or malformed answer: the same command may work later. */
  retryable: 6,
} as const;

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function buildProgram(io: CliIo): Command {
  const program = new Command("quanmiao-relay")
    .description("Polls Alibaba Cloud Bailian video-analysis tasks and pushes finished results to webhooks.")
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .showHelpAfterError("(run with --help for usage)")
    .addHelpText(
      "after",
      `
Environment: QUANMIAO_ENDPOINT (default https://quanmiaolightapp.cn-beijing.aliyuncs.com),
ALIBABA_CLOUD_ACCESS_KEY_ID / ALIBABA_CLOUD_ACCESS_KEY_SECRET / ALIBABA_CLOUD_SECURITY_TOKEN
(else the @alicloud/credentials default chain), QUANMIAO_CONNECT_TIMEOUT, QUANMIAO_REQUEST_TIMEOUT.
Exit codes: 0 ok, 1 failure, 2 usage, 3 configuration, 4 task not found, 5 auth, 6 retryable.`,
    );

  program
    .command("get-task")
    .description("print a task's `data` object as the API returned it (JSON)")
    .argument("<workspaceId>", "Bailian workspace id (llm-…)")
    .argument("<taskId>", "task id from SubmitVideoAnalysisTask")
    .action(async (workspaceId: string, taskId: string) => {
      const { getTaskCommand } = await import("./cli/quanmiao-commands.js");
      await getTaskCommand(io, workspaceId, taskId);
    });

  program
    .command("submit")
    .description("submit a video for analysis and print the new taskId")
    .argument("<workspaceId>", "Bailian workspace id (llm-…)")
    .requiredOption("--video-url <url>", "video to analyse; repeat to merge several (videoUrls)", collect)
    .option("--model-id <id>", "summarisation model, e.g. quanmiao-llm-plus")
    .option("--video-model-id <id>", "vision model, e.g. quanmiao-vl-plus")
    .option(
      "--generate-option <option>",
      "videoAnalysis, videoGenerate, videoTitleGenerate, … (repeatable)",
      collect,
      [],
    )
    .option("--language <language>", "speech language, e.g. chinese, english")
    .option("--deduplication-id <id>", "the API refuses a second submission with the same id for 72 h")
    .option(
      "--param <name=value>",
      "any other request field; the value is read as JSON when it parses (repeatable)",
      collect,
      [],
    )
    .action(async (workspaceId: string, options: Record<string, unknown>) => {
      const { submitCommand } = await import("./cli/quanmiao-commands.js");
      await submitCommand(io, workspaceId, options);
    });

  program
    .command("simulator")
    .description("run a local Quanmiao API simulator (prints its URL on the first line)")
    .option("--port <port>", "port on 127.0.0.1; 0 picks a free one", "8790")
    .option("--workspace <id=concurrency>", "a workspace and its asyncConcurrency (repeatable)", collect, [])
    .option("--closed", "answer NoPermission for workspaces not given with --workspace")
    .option("--run-time <duration|min-max>", "how long tasks run once started, e.g. 30s or 10s-2m", "20s-60s")
    .option("--failure-rate <ratio>", "share of tasks that end FAILED", "0.1")
    .option("--cancel-rate <ratio>", "share of tasks that end CANCELED", "0.05")
    .option("--access-key-id <id>", "an extra AccessKey id to accept")
    .option("--access-key-secret <secret>", "its secret")
    .option("--seed <seed>", "seed for task ids and outcomes")
    .option("--no-auth", "accept unsigned requests (benchmark baselines only)")
    .action(async (options: Record<string, unknown>) => {
      const { simulatorCommand } = await import("./cli/simulator-command.js");
      await simulatorCommand(io, options);
    });

  return program;
}

export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    const { reportError } = await import("./cli/report.js");
    return reportError(io, error);
  }
}

export function processIo(): CliIo {
  return {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    env: process.env,
  };
}
