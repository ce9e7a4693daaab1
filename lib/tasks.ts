/** Registering tasks for the relay to watch: validated, idempotent. */
import type { Clock } from "./clock.js";
import type { PollConfig } from "./config.js";
import { checkTarget, type Resolver } from "./delivery/guard.js";
import { InputError, RefusedTargetError } from "./errors.js";
import { DEFAULT_CONCURRENCY, firstPollAtMs } from "./poll.js";
import type { JsonObject } from "./quanmiao/task.js";
import { checkId } from "./quanmiao/validate.js";
import type { RecentWorkspaces } from "./recent-workspaces.js";
import type { Store, TaskRow, WorkspaceRow } from "./store/store.js";

export const MAX_TASK_WEBHOOKS = 10;
export const MAX_METADATA_BYTES = 16 * 1024;

export interface RegisterTaskRequest {
  readonly workspaceId: string;
  readonly taskId: string;
  readonly webhooks?: readonly string[];
  readonly metadata?: JsonObject;
  readonly submittedAtMs?: number;
  /** The kind of work (e.g. its generateOptions): run times are learned per profile. */
  readonly profile?: string;
}

export const MAX_PROFILE_LENGTH = 200;

export interface RegistrationDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly poll: PollConfig;
  readonly allowPrivateTargets: boolean;
  readonly resolve?: Resolver | undefined;
  /** Workspace rows kept a few seconds between registrations; without it each reads its own. */
  readonly workspaces?: RecentWorkspaces | undefined;
}

function id(field: string, value: unknown): string {
  try {
    return checkId(field, value);
  } catch (error) {
    throw new InputError((error as InputError).message.replace(`${field} `, ""), { field });
  }
}

/** Checks a webhook URL now, as each delivery will: syntax, scheme and the SSRF policy. */
export async function checkWebhookUrl(
  field: string,
  url: unknown,
  deps: Pick<RegistrationDeps, "allowPrivateTargets" | "resolve">,
): Promise<string> {
  if (typeof url !== "string" || url.trim() === "") throw new InputError("must be a URL", { field });
  if (url.length > 2048) throw new InputError("must be at most 2048 characters", { field });
  try {
    await checkTarget(url, { allowPrivate: deps.allowPrivateTargets, resolve: deps.resolve });
  } catch (error) {
    if (error instanceof RefusedTargetError) {
      throw error.kind === "syntax" ? new InputError(error.reason, { field, cause: error }) : error.forField(field);
    }
    throw error;
  }
  return url;
}

/**
 * Whether a task submitted at `submittedAtMs` lands inside its workspace's window (fewer than
 * `asyncConcurrency` tasks ahead of it): then it starts running at once, and is polled at once, so
 * that the relay sees it start and learns its run time from an exact start, not a guess.
 */
async function startsAtOnce(
  store: Store,
  workspaceId: string,
  workspace: WorkspaceRow | undefined,
  submittedAtMs: number,
): Promise<boolean> {
  // A workspace never seen before has nothing ahead of this task.
  if (!workspace) return true;
  const concurrency = workspace.asyncConcurrency ?? DEFAULT_CONCURRENCY;
  return (await store.countQueuedAhead(workspaceId, submittedAtMs, concurrency)) < concurrency;
}

export async function registerTask(
  deps: RegistrationDeps,
  request: RegisterTaskRequest,
): Promise<{ task: TaskRow; created: boolean }> {
  const workspaceId = id("workspaceId", request.workspaceId);
  const taskId = id("taskId", request.taskId);
  const urls = request.webhooks ?? [];
  if (!Array.isArray(urls) || urls.length > MAX_TASK_WEBHOOKS) {
    throw new InputError(`must be a list of at most ${MAX_TASK_WEBHOOKS} URLs`, { field: "webhooks" });
  }
  const metadata = request.metadata ?? {};
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) {
    throw new InputError("must be a JSON object", { field: "metadata" });
  }
  if (Buffer.byteLength(JSON.stringify(metadata)) > MAX_METADATA_BYTES) {
    throw new InputError(`must be at most ${MAX_METADATA_BYTES} bytes as JSON`, { field: "metadata" });
  }
  const nowMs = deps.clock.now();
  const submittedAtMs = request.submittedAtMs ?? nowMs;
  if (!Number.isFinite(submittedAtMs) || submittedAtMs < 0 || submittedAtMs > nowMs + 86_400_000) {
    throw new InputError("must be an epoch time in milliseconds, not in the future", { field: "submittedAtMs" });
  }
  const profile = request.profile;
  if (
    profile !== undefined &&
    (typeof profile !== "string" ||
      profile.length === 0 ||
      profile.length > MAX_PROFILE_LENGTH ||
      [...profile].some((c) => c.charCodeAt(0) < 0x20))
  ) {
    throw new InputError(`must be 1 to ${MAX_PROFILE_LENGTH} characters, without control characters`, {
      field: "profile",
    });
  }
  // Local checks first: the URL checks may resolve host names.
  const webhookUrls: string[] = [];
  for (const [i, url] of urls.entries()) webhookUrls.push(await checkWebhookUrl(`webhooks[${i}]`, url, deps));
  const workspace = deps.workspaces
    ? await deps.workspaces.get(deps.store, workspaceId, nowMs)
    : await deps.store.getWorkspace(workspaceId);
  const result = await deps.store.registerTask(
    {
      workspaceId,
      taskId,
      webhookUrls,
      metadata,
      submittedAtMs,
      firstPollAtMs: (await startsAtOnce(deps.store, workspaceId, workspace, submittedAtMs))
        ? nowMs
        : firstPollAtMs({ submittedAtMs }, nowMs, deps.poll),
      ...(profile !== undefined ? { profile } : {}),
    },
    nowMs,
  );
  if (result.created && !workspace) {
    await deps.store.putWorkspace({
      workspaceId,
      asyncConcurrency: undefined,
      concurrencyFetchedAtMs: undefined,
      backoffUntilMs: 0,
      authFailures: 0,
      lastError: undefined,
    });
  }
  return result;
}
