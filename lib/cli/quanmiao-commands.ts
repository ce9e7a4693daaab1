/** `get-task` and `submit`: one API call each, from the environment's configuration. */

import { loadConfig } from "../config.js";
import { InputError } from "../errors.js";
import { checkJsonBounds, escapeUnsafe } from "../input.js";
import { createQuanmiaoClient, type QuanmiaoClient } from "../quanmiao/client.js";
import { resolveCredentials } from "../quanmiao/credentials.js";
import { checkVideoUrls, type SubmitTaskRequest } from "../quanmiao/submit.js";
import { checkId, checkWorkspaceId } from "../quanmiao/validate.js";
import type { CliIo } from "./io.js";

async function withClient<T>(io: CliIo, run: (client: QuanmiaoClient) => Promise<T>): Promise<T> {
  const { quanmiao, credentials } = loadConfig(io.env);
  const client = createQuanmiaoClient({ ...quanmiao, credentials: resolveCredentials(credentials) });
  try {
    return await run(client);
  } finally {
    await client.close();
  }
}

export async function getTaskCommand(io: CliIo, workspaceId: string, taskId: string): Promise<void> {
  checkWorkspaceId("workspaceId", workspaceId);
  checkId("taskId", taskId);
  const result = await withClient(io, (client) => client.getTask(workspaceId, taskId));
  io.out(`${JSON.stringify(result.raw, null, 2)}\n`);
}

function parseParam(text: string): [string, unknown] {
  const eq = text.indexOf("=");
  if (eq <= 0) throw new InputError(`--param "${text}" must look like name=value`);
  const name = text.slice(0, eq);
  const raw = text.slice(eq + 1);
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return [name, raw];
  }
  // The API's bound: deeper, the form encoding overflowed the stack.
  checkJsonBounds(`--param ${name}`, value);
  return [name, value];
}

export function submitRequest(options: Record<string, unknown>): SubmitTaskRequest {
  const urls = (options.videoUrl as string[] | undefined) ?? [];
  for (const url of urls) checkId("--video-url", url);
  const request: SubmitTaskRequest = Object.fromEntries(((options.param as string[]) ?? []).map(parseParam));
  if (urls.length === 1) request.videoUrl = urls[0];
  else if (urls.length > 1) request.videoUrls = urls;
  // Named as given: the flag, or a `--param` beside it.
  const fromFlag = urls.length === 1 ? "videoUrl" : "videoUrls";
  checkVideoUrls(request, (name) => (name.replace(/\[\d+\]$/, "") === fromFlag ? "--video-url" : `--param ${name}`));
  const generateOptions = (options.generateOption as string[] | undefined) ?? [];
  if (generateOptions.length > 0) request.generateOptions = generateOptions;
  for (const [option, field] of [
    ["modelId", "modelId"],
    ["videoModelId", "videoModelId"],
    ["language", "language"],
    ["deduplicationId", "deduplicationId"],
  ] as const) {
    const value = options[option];
    if (typeof value === "string")
      request[field] = checkId(`--${option.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`, value);
  }
  return request;
}

export async function submitCommand(io: CliIo, workspaceId: string, options: Record<string, unknown>): Promise<void> {
  checkWorkspaceId("workspaceId", workspaceId);
  const request = submitRequest(options);
  const result = await withClient(io, (client) => client.submitTask(workspaceId, request));
  io.out(
    options.json
      ? `${JSON.stringify({ workspaceId, taskId: result.taskId, requestId: result.requestId ?? null }, null, 2)}\n`
      : `${escapeUnsafe(result.taskId)}\n`,
  );
}
