/**
 * The `quanmiao-relay` command. This module only wires commands to the library; each command's
 * work lives in lib/cli/* (the local dev tools' in dev/cli/*), loaded when that command runs, so
 * that `--help` stays fast and production code never loads a simulator or an emulator.
 */
import { Command, CommanderError, Option } from "commander";
import { type CliIo, EXIT } from "./cli/io.js";
import { escapeUnsafeKeepingLines } from "./input.js";
import { TASK_STATUSES } from "./quanmiao/task.js";
import { VERSION } from "./version.js";

export { type CliIo, EXIT, processIo } from "./cli/io.js";

/** Commands that print JSON anyway take --json too: scripts pass it everywhere. */
const JSON_ALWAYS = "print JSON (it always does)";
/** What --json prints elsewhere: the HTTP API's view of the same thing. */
const JSON_VIEW = "print JSON, as the HTTP API shows it";

/** An option with a fixed set of values: anything else is a usage error (exit 2) that lists them. */
const oneOf = (flags: string, description: string, values: readonly string[]) =>
  new Option(flags, description).choices(values);

/** What `deliveries list --status` takes: a delivery's status, or failed (dead, or retrying after a failure). */
const STANDINGS = ["pending", "delivered", "dead", "failed"];

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

function buildProgram(io: CliIo): { program: Command; exitCode: () => number } {
  let exitCode: number = EXIT.ok;
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
    .option("--json", JSON_ALWAYS)
    .action(async (workspaceId: string, taskId: string) => {
      const { getTaskCommand } = await import("./cli/quanmiao-commands.js");
      await getTaskCommand(io, workspaceId, taskId);
    });

  program
    .command("submit")
    .description("submit a video for analysis and print the new taskId (does not register it: see tasks add)")
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
    .option("--json", "print JSON: {workspaceId, taskId, requestId}")
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
    .option("--concurrency <n>", "asyncConcurrency of workspaces not given with --workspace", "2")
    .option("--run-time <duration|min-max>", "how long tasks run once started, e.g. 30s or 10s-2m", "20s-60s")
    .option("--failure-rate <ratio>", "share of tasks that end FAILED", "0.1")
    .option("--cancel-rate <ratio>", "share of tasks that end CANCELED", "0.05")
    .option("--access-key-id <id>", "an extra AccessKey id to accept")
    .option("--access-key-secret <secret>", "its secret")
    .option("--seed <seed>", "seed for task ids and outcomes")
    .option("--no-auth", "accept unsigned requests (benchmark baselines only)")
    .option("--latency <duration>", "answer every request this much later, e.g. 100ms")
    .action(async (options: Record<string, unknown>) => {
      const { simulatorCommand } = await import("../dev/cli/simulator-command.js");
      await simulatorCommand(io, options);
    });

  program
    .command("tablestore-emulator")
    .description("run a local Tablestore emulator speaking the SDK's wire protocol (prints its URL on the first line)")
    .option("--port <port>", "port on 127.0.0.1; 0 picks a free one", "8791")
    .option("--instance <name>", "the instance name it answers to", "relay")
    .addHelpText(
      "after",
      "\nIt accepts its own AccessKey and, when set, ALIBABA_CLOUD_ACCESS_KEY_ID / _SECRET (and _SECURITY_TOKEN).",
    )
    .action(async (options: { port: string; instance?: string }) => {
      const { tablestoreEmulatorCommand } = await import("../dev/cli/tablestore-emulator-command.js");
      await tablestoreEmulatorCommand(io, options);
    });

  program
    .command("eventbridge-emulator")
    .description("run a local EventBridge PutEvents endpoint that checks signatures (prints its URL on the first line)")
    .option("--port <port>", "port on 127.0.0.1; 0 picks a free one", "8792")
    .option("--bus <name>", "a bus it has (repeatable; default: relay-events)", collect, [])
    .action(async (options: { port: string; bus: string[] }) => {
      const { eventBridgeEmulatorCommand } = await import("../dev/cli/eventbridge-emulator-command.js");
      await eventBridgeEmulatorCommand(io, options);
    });

  program
    .command("serve")
    .description(
      "serve the HTTP API (prints its URL on the first line); needs RELAY_API_TOKEN unless --no-auth on loopback",
    )
    .option("--port <port>", "port; 0 picks a free one (default RELAY_API_PORT or 8787)")
    .option("--host <host>", "address to bind", "127.0.0.1")
    .option("--no-auth", "serve without a token (only allowed on a loopback address)")
    .action(async (options: { port?: string; host: string; auth: boolean }) => {
      const { serveCommand } = await import("./cli/serve-command.js");
      await serveCommand(io, options);
    });

  program
    .command("listen")
    .description(
      "forward a running relay's new events to a local URL, signed with this relay's secret (printed first, like `stripe listen`)",
    )
    .requiredOption(
      "--forward-to <url>",
      "where to POST each event, e.g. localhost:3000/hook (http:// assumed locally)",
    )
    .option("--relay <url>", "the relay's HTTP API (default http://127.0.0.1:RELAY_API_PORT, what npm start serves)")
    .option("--token <token>", "a bearer token for it (default the first of RELAY_API_TOKEN)")
    .option("--events <types>", "only these event types, comma-separated (default: what a subscription gets)", collect)
    .option("--event <type>", "only this event type (repeatable; same as --events)", collect)
    .option("--all-events", "every event type, the opt-in video_analysis.running and video_analysis.progress included")
    .option("--rotate-secret", "replace this relay's saved signing secret with a new one")
    .option("--secret <whsec>", "sign with this secret instead of the saved one (not saved)")
    .option("--interval <duration>", "how often to look for new events", "1s")
    .action(async (options) => {
      const { listenCommand } = await import("./cli/listen-command.js");
      await listenCommand(io, options);
    });

  const eventCommands = () => import("./cli/event-commands.js");
  program
    .command("trigger")
    .description("create a sample event of a type (for a made-up task), sent to its subscribers and to listen")
    .argument("<type>", "an event type, e.g. video_analysis.succeeded")
    .option("--workspace <id>", "the sample's workspaceId (default llm-sample), for subscriptions filtered by one")
    .option("--json", "print JSON")
    .action(async (type: string, options) => (await eventCommands()).triggerCommand(io, type, options));
  const events = program.command("events").description("events the relay created");
  events
    .command("resend")
    .description("send an event again: a new attempt of each delivery (same message id), a first for new subscriptions")
    .argument("<id>", "the event id (evt_…)")
    .option("--webhook <id>", "only to this subscription (wh_…)")
    .option("--json", "print JSON")
    .action(async (id: string, options) => (await eventCommands()).eventsResend(io, id, options));

  program
    .command("init")
    .description("create the store's tables (Tablestore) or schema (SQLite); safe to run again")
    .option("--json", JSON_ALWAYS)
    .action(async () => {
      const { initCommand } = await import("./cli/relay-commands.js");
      await initCommand(io);
    });

  program
    .command("tick")
    .description("one run: due retries, due polls, new events delivered; prints a summary as JSON")
    .option("--budget <duration>", "time budget, e.g. 50s (default RELAY_TICK_BUDGET)")
    .option("--json", JSON_ALWAYS)
    .action(async (options: { budget?: string }) => {
      const { tickCommand } = await import("./cli/tick-command.js");
      await tickCommand(io, options);
    });

  program
    .command("dev")
    .description("run the relay locally, ticking every RELAY_TICK_INTERVAL (sandbox mode without credentials)")
    .action(async () => {
      const { devCommand } = await import("../dev/cli/dev.js");
      await devCommand(io);
    });

  const relay = () => import("./cli/relay-commands.js");
  const lists = () => import("./cli/list-commands.js");
  const tasks = program.command("tasks").description("tasks the relay watches");
  tasks
    .command("add")
    .description("register a task (idempotent: a repeat only adds new --webhook URLs)")
    .argument("<workspaceId>")
    .argument("<taskId>")
    .option(
      "--webhook <url>",
      "an endpoint URL for this task's terminal events, signed with the default secret (repeatable)",
      collect,
    )
    .option("--metadata <json>", "a JSON object passed back in every event's data.metadata")
    .option("--submitted-at <time>", "when the task was submitted (ISO time or epoch ms): its place in the queue")
    .option("--profile <name>", "the kind of work (e.g. its generateOptions): run times are learned per profile")
    .option(
      "--video-duration <seconds>",
      "how long the video is, in seconds (under 24 h): run times are learned as a function of it",
    )
    .option("--json", "print JSON: {created, task}, as POST /v1/tasks answers")
    .action(async (ws: string, id: string, options) => (await relay()).tasksAdd(io, ws, id, options));
  tasks
    .command("list")
    .description("list tasks, newest registration first")
    .addOption(oneOf("--status <status>", "the API's taskStatus as last seen", TASK_STATUSES))
    .addOption(oneOf("--state <state>", "active (still polled) or done", ["active", "done"]))
    .option("--workspace <id>", "one workspace")
    .option("--limit <n>", "at most this many", "100")
    .option("--cursor <cursor>", "the page after the one that printed this cursor")
    .option("--json", "print JSON: {items, next}, as GET /v1/tasks answers")
    .action(async (options) => (await lists()).tasksList(io, options));
  tasks
    .command("show")
    .description("a task with its events and deliveries (workspaceId taskId, or workspaceId/taskId as printed)")
    .argument("<workspaceId>")
    .argument("[taskId]")
    .option("--json", JSON_VIEW)
    .action(async (ws: string, id: string | undefined, options) => (await relay()).tasksShow(io, ws, id, options));
  tasks
    .command("import")
    .description(
      "register tasks from NDJSON or CSV (workspaceId,taskId[,submittedAt[,videoDurationSeconds]]); bad lines are reported by number",
    )
    .argument("<file>")
    .option("--json", JSON_ALWAYS)
    .action(async (file: string) => {
      if (!(await (await relay()).tasksImport(io, file))) exitCode = EXIT.failure;
    });

  const hooks = () => import("./cli/webhook-commands.js");
  const webhooks = program
    .command("webhooks")
    .description(
      "webhooks: endpoint URLs and EventBridge buses subscribed to events (ids wh_…), each with its own secret",
    );
  webhooks
    .command("add")
    .description("subscribe an endpoint URL, or an EventBridge bus; prints JSON with its id (wh_…) and secret")
    .argument("[url]", "the endpoint (or --eventbridge instead)")
    .option("--format <format>", "standard (default), cloudevents-structured or cloudevents-binary")
    .option("--eventbridge <bus>", "publish to this EventBridge bus instead of a URL (CloudEvents)")
    .option("--region <id>", "the bus's region (default: the relay's own, FC_REGION)")
    .option("--account-id <id>", "the bus's account (default: the relay's own, FC_ACCOUNT_ID)")
    .option("--event <type>", "an event type to receive (repeatable; default: the four terminal types)", collect)
    .option("--workspace <id>", "only events of this workspace")
    .option("--header <name:value>", "a custom header on every delivery (repeatable)", collect)
    .option(
      "--rate-limit <per-second>",
      "at most this many requests a second to the endpoint, 0.5 = one every 2 s (default: no limit)",
    )
    .option("--json", JSON_ALWAYS)
    .action(async (url: string | undefined, options) => (await hooks()).webhooksAdd(io, url, options));
  webhooks
    .command("list")
    .description("list webhooks, enabled or disabled and why, with their circuits and rate limits")
    .option("--json", "print JSON: {items, next}, as GET /v1/webhooks answers")
    .action(async (options) => (await hooks()).webhooksList(io, options));
  webhooks
    .command("show")
    .description("one webhook and its circuit as JSON (never its secret)")
    .argument("<id>")
    .option("--json", JSON_ALWAYS)
    .action(async (id: string) => (await hooks()).webhooksShow(io, id));
  for (const [name, enabled] of [
    ["disable", false],
    ["enable", true],
  ] as const) {
    webhooks
      .command(name)
      .argument("<id>")
      .option("--json", JSON_ALWAYS)
      .action(async (id: string) => (await hooks()).webhooksSetEnabled(io, id, enabled));
  }
  webhooks
    .command("rotate-secret")
    .description("new secret; the old one keeps signing for 24 h (both signatures are sent)")
    .argument("<id>")
    .option("--json", JSON_ALWAYS)
    .action(async (id: string) => (await hooks()).webhooksRotate(io, id));
  webhooks
    .command("delete")
    .alias("remove")
    .argument("<id>")
    .option("--json", "print JSON: {id, deleted}")
    .action(async (id: string, options) => (await hooks()).webhooksDelete(io, id, options));
  webhooks
    .command("default-secret")
    .description("the installation's secret that signs per-task webhook URLs")
    .option("--rotate", "replace it; the old one keeps signing for 24 h")
    .option("--json", "print JSON: {secret}")
    .action(async (options) => (await hooks()).webhooksDefaultSecret(io, options));

  const deliveries = program
    .command("deliveries")
    .description(
      "deliveries: one event for one endpoint; the id is the message id (msg_…) sent as the webhook-id header",
    );
  deliveries
    .command("list")
    .description("list deliveries, newest first; ATTEMPTS counts HTTP requests")
    .addOption(oneOf("--status <status>", "where the delivery stands; failed: the dead and the retrying", STANDINGS))
    .option("--failed", "only the failed: the same as --status failed")
    .option("--webhook <id>", "only deliveries to this webhook (wh_…)")
    .option("--event-id <id>", "one event's deliveries (evt_…)")
    .option("--type <type>", "one event type, e.g. video_analysis.failed")
    .option("--since <time>", "created at or after: ISO time, epoch ms, or a duration ago (1h)")
    .option("--limit <n>", "at most this many", "100")
    .option("--cursor <cursor>", "the page after the one that printed this cursor")
    .option("--json", "print JSON: {items, next}, as GET /v1/deliveries answers")
    .action(async (options) => (await lists()).deliveriesList(io, options));
  deliveries
    .command("replay")
    .description("send a delivery again in the next run, with the same message id (webhook-id header)")
    .argument("<id>", "the delivery's message id (msg_…)")
    .option("--json", JSON_VIEW)
    .action(async (id: string, options) => (await relay()).deliveriesReplay(io, id, options));

  events
    .command("list")
    .description("list events, newest first (`listen` follows new ones as they come)")
    .option("--since <time>", "created at or after: ISO time, epoch ms, or a duration ago (1h)")
    .option("--limit <n>", "at most this many", "100")
    .option("--cursor <cursor>", "the page after the one that printed this cursor")
    .option("--json", "print JSON: {items, next}")
    .action(async (options) => (await lists()).eventsList(io, options));

  return { program, exitCode: () => exitCode };
}

/**
 * Every byte the CLI prints passes here: a control or bidi character that reached the output from
 * anywhere (the store, the API's answers, an argument echoed in an error) is shown escaped, so it
 * cannot drive the terminal. Line breaks and tabs stay, being the output's own; commands escape
 * them themselves inside values (tables, reasons, ids).
 */
function terminalSafe(io: CliIo): CliIo {
  return {
    ...io,
    out: (text) => io.out(escapeUnsafeKeepingLines(text)),
    err: (text) => io.err(escapeUnsafeKeepingLines(text)),
  };
}

/** The local servers: they never act on a running sandbox (a second `dev` would wipe its store). */
const LOCAL_SERVERS = new Set(["dev", "simulator", "tablestore-emulator", "eventbridge-emulator"]);

export async function main(argv: readonly string[], rawIo: CliIo): Promise<number> {
  const safe = terminalSafe(rawIo);
  // Commands read io.env when they run: the hook below may add the running sandbox's variables first.
  const env: Record<string, string | undefined> = { ...safe.env };
  const io: CliIo = { ...safe, env };
  const { program, exitCode } = buildProgram(io);
  program.hook("preAction", async (_program, action) => {
    let command = action;
    while (command.parent && command.parent !== program) command = command.parent;
    if (LOCAL_SERVERS.has(command.name())) return;
    const { sandboxEnv } = await import("./cli/sandbox.js");
    const found = sandboxEnv(safe.env, rawIo.sandboxDir);
    if (found.note === undefined) return;
    Object.assign(env, found.env);
    io.err(found.note);
  });
  try {
    await program.parseAsync([...argv], { from: "user" });
    return exitCode();
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    const { reportError } = await import("./cli/report.js");
    return reportError(io, error);
  }
}
