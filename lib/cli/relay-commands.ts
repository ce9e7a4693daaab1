/**
 * The relay's CLI commands: one run, tasks, deliveries (webhooks: webhook-commands.ts). With
 * --json they print what the HTTP API answers, through the same presenters.
 */
import { readFile } from "node:fs/promises";
import { deliveryView, taskDetail, taskView, taskWebhookCircuits } from "../api/presenters.js";
import type { Config } from "../config.js";
import { InputError, NotFoundError } from "../errors.js";
import type { CredentialsProvider } from "../quanmiao/credentials.js";
import type { JsonObject } from "../quanmiao/task.js";
import { openRelay, type Relay } from "../relay.js";
import { taskTiming } from "../runtime-stats.js";
import { MIN_SAMPLES } from "../runtimes.js";
import type { DeliveryRow } from "../store/store.js";
import {
  type CheckedRegistration,
  checkRegistration,
  checkRegistrationUrls,
  checkVideoDuration,
  registerTask,
  writeRegistration,
} from "../tasks.js";
import { circuitText } from "./circuit-text.js";
import { parseImport } from "./import.js";
import type { CliIo } from "./io.js";
import { deliveryRows, taskRows } from "./rows.js";
import { shown, table, when } from "./table.js";

export async function withRelay<T>(
  io: CliIo,
  run: (relay: Relay) => Promise<T>,
  options: { config?: Config; credentials?: CredentialsProvider } = {},
): Promise<T> {
  const relay = await openRelay({ env: io.env, logTo: io.err, ...options });
  try {
    return await run(relay);
  } finally {
    await relay.close();
  }
}

export const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

export async function initCommand(io: CliIo): Promise<void> {
  const { store, created } = await withRelay(io, async (relay) => {
    const opened = relay.store as { init?: () => Promise<string[]> };
    const { store } = relay.config;
    // SQLite migrates itself when opened; Tablestore's tables are created here.
    return {
      store: store.kind === "sqlite" ? `sqlite:${store.path}` : "tablestore",
      created: opened.init ? await opened.init() : [],
    };
  });
  io.out(`${JSON.stringify({ store, created })}\n`);
}

function parseMetadata(text: string | undefined): JsonObject | undefined {
  if (text === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === "object" && value !== null && !Array.isArray(value)) return value as JsonObject;
  } catch {
    // fall through
  }
  throw new InputError("must be a JSON object, e.g. '{\"orderId\":42}'", { field: "--metadata" });
}

export function parseTime(field: string, text: string | undefined): number | undefined {
  if (text === undefined || text === "") return undefined;
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms)) throw new InputError(`"${text}" is not an ISO time or epoch milliseconds`, { field });
  return ms;
}

/**
 * `--video-duration 93.5`, in seconds. Only decimal notation is read as a number (Number() would
 * also take "0x10", or "" as 0); the range is the library's check, named after the option.
 */
export function parseVideoDuration(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text.trim()))
    throw new InputError(`"${text}" is not a number of seconds (e.g. 93.5)`, { field: "--video-duration" });
  checkVideoDuration(Number(text), "--video-duration");
  return Number(text);
}

export async function tasksAdd(
  io: CliIo,
  workspaceId: string,
  taskId: string,
  options: {
    webhook?: string[];
    metadata?: string;
    submittedAt?: string;
    profile?: string;
    videoDuration?: string;
    json?: boolean;
  },
): Promise<void> {
  const metadata = parseMetadata(options.metadata);
  const submittedAtMs = parseTime("--submitted-at", options.submittedAt);
  const videoDurationSeconds = parseVideoDuration(options.videoDuration);
  const { task, created } = await withRelay(io, (relay) =>
    registerTask(relay.registration, {
      workspaceId,
      taskId,
      webhooks: options.webhook ?? [],
      ...(metadata ? { metadata } : {}),
      ...(submittedAtMs !== undefined ? { submittedAtMs } : {}),
      ...(options.profile !== undefined ? { profile: options.profile } : {}),
      ...(videoDurationSeconds !== undefined ? { videoDurationSeconds } : {}),
    }),
  );
  io.out(
    options.json
      ? json({ created, task: taskView(task) })
      : `${created ? "registered" : "already registered"}: ${shown(task.workspaceId)}/${shown(task.taskId)}\n`,
  );
}

const seconds = (ms: number | null | undefined) => (ms == null ? "–" : `${Math.round(ms / 1000)} s`);

function timingLines(t: Awaited<ReturnType<typeof taskTiming>>): string {
  const lines = [
    `  detection target  ${t.detectionTargetMs === null ? "off (adaptive interval)" : seconds(t.detectionTargetMs)}`,
    t.learnedFrom === "prior"
      ? `  learned from      nothing yet: the prior (${t.samples} of the ${MIN_SAMPLES} ends a model needs)`
      : `  learned from      ${t.learnedFrom === "relay" ? "every workspace" : t.learnedFrom}${t.profile ? ` (profile ${shown(t.profile)})` : ""}, ${t.samples} ends${t.perVideoMinute ? ", per minute of video" : ""}`,
  ];
  if (t.failuresApart)
    lines.push(
      `  failures          ${Math.round(t.failuresApart.share * 100)} % of ends, at ~${seconds(t.failuresApart.p50Ms)} of run time whatever the video's length`,
    );
  if (t.runTimeMs)
    lines.push(
      `  run time          p25 ${seconds(t.runTimeMs.p25)} · p50 ${seconds(t.runTimeMs.p50)} · p75 ${seconds(t.runTimeMs.p75)} · p95 ${seconds(t.runTimeMs.p95)}`,
    );
  if (t.densePollingMs)
    lines.push(
      `  polled densely    ${t.densePollingMs.map((r) => `${seconds(r.fromMs)}–${seconds(r.toMs)}`).join(", ")} of run time`,
    );
  if (t.runningForMs !== null)
    lines.push(
      `  running for       ${seconds(t.runningForMs)}${t.expectedEndAt ? ` (median end ${t.expectedEndAt})` : ""}`,
    );
  return `${lines.join("\n")}\n`;
}

/**
 * A task named as every output prints it (`llm-sandbox/7f75…`), or as two arguments. Workspace ids
 * hold no slash (checkWorkspaceId), so the pair splits at its first, and a task id may hold one.
 */
export function taskArguments(workspaceOrPair: string, taskId: string | undefined): [string, string] {
  if (taskId !== undefined) return [workspaceOrPair, taskId];
  const slash = workspaceOrPair.indexOf("/");
  if (slash > 0 && slash < workspaceOrPair.length - 1)
    return [workspaceOrPair.slice(0, slash), workspaceOrPair.slice(slash + 1)];
  throw new InputError("missing: give the workspace and the task, as `llm-a 7f75…` or `llm-a/7f75…`", {
    field: "taskId",
  });
}

export async function tasksShow(
  io: CliIo,
  workspaceOrPair: string,
  taskIdArgument: string | undefined,
  options: { json?: boolean },
): Promise<void> {
  const [workspaceId, taskId] = taskArguments(workspaceOrPair, taskIdArgument);
  const registered = async (relay: Relay) => {
    const task = await relay.store.getTask(workspaceId, taskId);
    if (!task) throw new NotFoundError(`no task ${workspaceId}/${taskId} is registered`);
    return task;
  };
  if (options.json) {
    const detail = await withRelay(io, async (relay) =>
      taskDetail(relay.store, await registered(relay), relay.config.poll.detectionTargetMs, relay.tickDeps.clock.now()),
    );
    return io.out(json(detail));
  }
  const view = await withRelay(io, async (relay) => {
    const task = await registered(relay);
    const events = await relay.store.listEventsForTask(workspaceId, taskId);
    const deliveries: DeliveryRow[] = [];
    for (const e of events)
      deliveries.push(...(await relay.store.listDeliveries({ eventId: e.id, limit: 1_000 })).items);
    const nowMs = relay.tickDeps.clock.now();
    const timing = await taskTiming(relay.store, task, relay.config.poll.detectionTargetMs, nowMs);
    const webhookCircuits = await taskWebhookCircuits(relay.store, task);
    return { task, timing, events, deliveries, webhookCircuits, nowMs };
  });
  const { nowMs } = view;
  io.out(taskRows([view.task]));
  const video = view.task.videoDurationMs;
  io.out(`\nTiming\n${timingLines(view.timing)}`);
  io.out(`  video duration    ${video === undefined ? "unknown" : `${video / 1000} s`}\n`);
  if (view.webhookCircuits.length > 0)
    io.out(
      `\nWebhook URLs\n${table(
        ["URL", "CIRCUIT"],
        view.webhookCircuits.map((w) => [w.url, circuitText(w.circuit, nowMs)]),
      )}`,
    );
  io.out(
    `\nEvents\n${table(
      ["ID", "TYPE", "CREATED"],
      view.events.map((e) => [e.id, e.type, when(e.createdAtMs)]),
    )}`,
  );
  io.out(`\nDeliveries\n${deliveryRows(view.deliveries)}`);
}

export async function tasksImport(io: CliIo, file: string): Promise<boolean> {
  let text: Buffer;
  try {
    text = await readFile(file);
  } catch (error) {
    throw new InputError(`cannot read ${file}: ${(error as Error).message}`, { field: "file" });
  }
  const { entries, problems } = parseImport(text);
  let imported = 0;
  let existing = 0;
  await withRelay(io, async (relay) => {
    // Every line is checked before any is written, as the API checks a batch: a line the relay
    // cannot take is reported by number, and never stops the good ones.
    const nowMs = relay.tickDeps.clock.now();
    const checked: Array<[number, CheckedRegistration]> = [];
    for (const entry of entries) {
      try {
        checked.push([entry.line, checkRegistration(entry.request, nowMs)]);
      } catch (error) {
        if (!(error instanceof InputError)) throw error;
        problems.push({ line: entry.line, message: error.message });
      }
    }
    for (const [i, [line, registration]] of checked.entries()) {
      try {
        const urls = await checkRegistrationUrls(relay.registration, registration.urls);
        const { created } = await writeRegistration(relay.registration, registration, urls);
        if (created) imported++;
        else existing++;
      } catch (error) {
        if (!(error instanceof InputError)) throw error;
        problems.push({ line, message: error.message });
      }
      if (io.isTTY && (i % 50 === 0 || i === checked.length - 1)) {
        const width = 30;
        const filled = Math.round(((i + 1) / checked.length) * width);
        io.err(`\r[${"#".repeat(filled)}${" ".repeat(width - filled)}] ${i + 1}/${checked.length}`);
      }
    }
  });
  if (io.isTTY && entries.length > 0) io.err("\n");
  problems.sort((a, b) => a.line - b.line);
  for (const p of problems) io.err(`line ${p.line}: ${shown(p.message)}\n`);
  io.out(`${JSON.stringify({ imported, alreadyRegistered: existing, rejected: problems.length })}\n`);
  return problems.length === 0;
}

export async function deliveriesReplay(io: CliIo, id: string, options: { json?: boolean } = {}): Promise<void> {
  const row = await withRelay(io, async (relay) => {
    const replayed = await relay.store.replayDelivery(id, relay.tickDeps.clock.now());
    if (!replayed) throw new NotFoundError(`no delivery with id ${id}`);
    return replayed;
  });
  io.out(options.json ? json(deliveryView(row)) : `replaying ${shown(row.id)}: due now, sent by the next run\n`);
}
