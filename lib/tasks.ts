/** Registering tasks for the relay to watch: validated, idempotent. */
import type { Clock } from "./clock.js";
import type { PollConfig } from "./config.js";
import { checkTarget, type Resolver } from "./delivery/guard.js";
import { InputError, InvalidValueError, RefusedTargetError } from "./errors.js";
import { checkJsonBounds, checkText, MAX_METADATA_BYTES } from "./input.js";
import { DEFAULT_CONCURRENCY, firstPollAtMs } from "./poll.js";
import type { JsonObject } from "./quanmiao/task.js";
import { checkId, checkWorkspaceId } from "./quanmiao/validate.js";
import type { RecentWorkspaces } from "./recent-workspaces.js";
import type { Store, TaskRow, WorkspaceRow } from "./store/store.js";

export const MAX_TASK_WEBHOOKS = 10;
export { MAX_METADATA_BYTES };

export interface RegisterTaskRequest {
  readonly workspaceId: string;
  readonly taskId: string;
  readonly webhooks?: readonly string[];
  readonly metadata?: JsonObject;
  readonly submittedAtMs?: number;
  /** The kind of work (e.g. its generateOptions): run times are learned per profile. */
  readonly profile?: string;
  /** How long the video is, in seconds (a fraction allowed): run times are learned as a function of it. */
  readonly videoDurationSeconds?: number;
}

export const MAX_PROFILE_LENGTH = 200;
/** A video hint must be shorter than a day: anything longer is a mistake (ms for s), not a video. */
export const MAX_VIDEO_DURATION_SECONDS = 86_400;

/**
 * A video duration hint as given (API body, batch item, CLI option, library call), checked alike
 * for all of them, as milliseconds. JSON cannot carry NaN, but 1e400 parses as Infinity.
 */
export function checkVideoDuration(value: unknown, field = "videoDurationSeconds"): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0 || value >= MAX_VIDEO_DURATION_SECONDS) {
    const got =
      typeof value === "number" || value === null
        ? String(value)
        : typeof value === "string"
          ? JSON.stringify(value.slice(0, 40))
          : typeof value;
    throw new InvalidValueError(
      `must be a number of seconds above 0 and under ${MAX_VIDEO_DURATION_SECONDS} (24 h); got ${got}`,
      { field },
    );
  }
  // A positive hint stays positive however short: 0 ms would read as "no video".
  return Math.max(1, Math.round(value * 1000));
}

export interface RegistrationDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly poll: PollConfig;
  readonly allowPrivateTargets: boolean;
  readonly resolve?: Resolver | undefined;
  /** How long a webhook URL's host may take to resolve at registration (5 s when absent). */
  readonly lookupTimeoutMs?: number | undefined;
  /** Workspace rows kept a few seconds between registrations; without it each reads its own. */
  readonly workspaces?: RecentWorkspaces | undefined;
  /** The relay's own region and account: an EventBridge subscription's defaults (webhook-targets.ts). */
  readonly ownCloud?: { readonly region?: string | undefined; readonly accountId?: string | undefined } | undefined;
}

/** An id a caller gives (workspaceId, taskId, deduplicationId), refused with the field named. */
export function checkIdField(field: string, value: unknown, check = checkId): string {
  // Control characters first: they are a value the relay cannot accept (422), not a typo (400).
  if (typeof value === "string") checkText(field, value);
  try {
    return check(field, value);
  } catch (error) {
    const detail = (error as InputError).message.replace(`${field} `, "");
    if (error instanceof InvalidValueError) throw new InvalidValueError(detail, { field, cause: error });
    throw new InputError(detail, { field, cause: error });
  }
}

/** A workspace id a caller gives (no slash: it is a segment of the API's paths), refused with the field named. */
export const checkWorkspaceField = (field: string, value: unknown) => checkIdField(field, value, checkWorkspaceId);

const REGISTRATION_LOOKUP_TIMEOUT_MS = 5_000;

/** Checks a webhook URL now, as each delivery will: syntax, scheme and the SSRF policy. */
export async function checkWebhookUrl(
  field: string,
  url: unknown,
  deps: Pick<RegistrationDeps, "allowPrivateTargets" | "resolve" | "lookupTimeoutMs">,
): Promise<string> {
  if (typeof url !== "string" || url.trim() === "") throw new InputError("must be a URL", { field });
  if (url.length > 2048) throw new InputError("must be at most 2048 characters", { field });
  // URL parsing would drop a tab or a line break and keep other controls; the text as sent is what is stored.
  checkText(field, url);
  try {
    // The system resolver has no deadline: a name whose DNS never answers held the request open.
    const timeoutMs = deps.lookupTimeoutMs ?? REGISTRATION_LOOKUP_TIMEOUT_MS;
    await checkTarget(url, { allowPrivate: deps.allowPrivateTargets, resolve: deps.resolve, timeoutMs });
  } catch (error) {
    if (error instanceof RefusedTargetError) {
      throw error.kind === "syntax" ? new InputError(error.reason, { field, cause: error }) : error.forField(field);
    }
    throw error;
  }
  return url;
}

/**
 * A task registered this soon after its submission (when the caller says when that was, or the
 * relay submitted it), into a window with room, is presumed to run since its submission. Registered
 * later, or without a submission time, it may have waited for a slot or even ended: it is asked.
 */
const PRESUME_START_WITHIN_MS = 60_000;
/** A caller's clock may run this far ahead of the relay's (a submission time "in the future"). */
const CLOCK_SKEW_MS = 5_000;

/** 2001-09-09T01:46:40Z: no submission is older, and a time in seconds is far below it. */
const EPOCH_MS_FLOOR = 1e12;

const presumable = (submittedAtMs: number, nowMs: number) =>
  submittedAtMs <= nowMs + CLOCK_SKEW_MS && nowMs - submittedAtMs <= PRESUME_START_WITHIN_MS;

/**
 * Whether a task submitted at `submittedAtMs` lands inside its workspace's window (fewer than
 * `asyncConcurrency` tasks ahead of it): then it starts running at once, and is due at once, so
 * that the relay sees it start (or, registered as it was submitted, presumes it started then).
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

/** A registration whose local checks passed: what is written, less the URLs' SSRF checks. */
export interface CheckedRegistration {
  readonly workspaceId: string;
  readonly taskId: string;
  readonly urls: readonly unknown[];
  readonly metadata: JsonObject;
  readonly submittedAtMs: number;
  /** Whether the caller said when the task was submitted (else it is the registration time). */
  readonly submittedAtGiven: boolean;
  readonly profile: string | undefined;
  readonly videoDurationMs: number | undefined;
}

/** Every field but the task id (which a submission only learns from the API). */
export function checkRegistrationFields(
  request: Omit<RegisterTaskRequest, "taskId">,
  nowMs: number,
): Omit<CheckedRegistration, "taskId"> {
  const workspaceId = checkWorkspaceField("workspaceId", request.workspaceId);
  const urls = request.webhooks ?? [];
  if (!Array.isArray(urls) || urls.length > MAX_TASK_WEBHOOKS) {
    throw new InputError(`must be a list of at most ${MAX_TASK_WEBHOOKS} URLs`, { field: "webhooks" });
  }
  const metadata = request.metadata ?? {};
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) {
    throw new InputError("must be a JSON object", { field: "metadata" });
  }
  checkJsonBounds("metadata", metadata, { maxBytes: MAX_METADATA_BYTES });
  const submittedAtMs = request.submittedAtMs ?? nowMs;
  if (!Number.isFinite(submittedAtMs) || submittedAtMs < 0 || submittedAtMs > nowMs + 86_400_000) {
    throw new InputError("must be an epoch time in milliseconds, not in the future", { field: "submittedAtMs" });
  }
  // Before 2001-09-09 in milliseconds is a time in seconds (1.7e9), or Date.parse's reading of a
  // year-less date ("Jan 1" is 2001-01-01): taken as given, the task expired at once, unpolled.
  if (request.submittedAtMs !== undefined && submittedAtMs < EPOCH_MS_FLOOR) {
    throw new InvalidValueError(
      `${submittedAtMs} is before 2001-09-09 (1e12) in milliseconds: give an epoch time in milliseconds (seconds × 1000)`,
      { field: "submittedAtMs" },
    );
  }
  const profile = request.profile;
  if (profile !== undefined) {
    if (typeof profile === "string") checkText("profile", profile);
    if (typeof profile !== "string" || profile.length === 0 || profile.length > MAX_PROFILE_LENGTH) {
      throw new InputError(`must be 1 to ${MAX_PROFILE_LENGTH} characters, without control characters`, {
        field: "profile",
      });
    }
  }
  const videoDurationMs =
    request.videoDurationSeconds === undefined ? undefined : checkVideoDuration(request.videoDurationSeconds);
  const submittedAtGiven = request.submittedAtMs !== undefined;
  return { workspaceId, urls, metadata, submittedAtMs, submittedAtGiven, profile, videoDurationMs };
}

/** The checks that need no store and no network, so a batch can make them for every item first. */
export function checkRegistration(request: RegisterTaskRequest, nowMs: number): CheckedRegistration {
  const fields = checkRegistrationFields(request, nowMs);
  return { ...fields, taskId: checkIdField("taskId", request.taskId) };
}

/** The webhook URLs' SSRF checks (they may resolve host names). */
export async function checkRegistrationUrls(
  deps: Pick<RegistrationDeps, "allowPrivateTargets" | "resolve" | "lookupTimeoutMs">,
  urls: readonly unknown[],
): Promise<string[]> {
  const checked: string[] = [];
  for (const [i, url] of urls.entries()) checked.push(await checkWebhookUrl(`webhooks[${i}]`, url, deps));
  return checked;
}

/** Writes a registration whose checks all passed. */
export async function writeRegistration(
  deps: RegistrationDeps,
  checked: CheckedRegistration,
  webhookUrls: readonly string[],
): Promise<{ task: TaskRow; created: boolean }> {
  const { workspaceId, taskId, metadata, submittedAtMs, profile, videoDurationMs } = checked;
  const nowMs = deps.clock.now();
  const workspace = deps.workspaces
    ? await deps.workspaces.get(deps.store, workspaceId, nowMs)
    : await deps.store.getWorkspace(workspaceId);
  const atOnce = await startsAtOnce(deps.store, workspaceId, workspace, submittedAtMs);
  const result = await deps.store.registerTask(
    {
      workspaceId,
      taskId,
      webhookUrls: [...webhookUrls],
      metadata,
      submittedAtMs,
      firstPollAtMs: atOnce ? nowMs : firstPollAtMs({ submittedAtMs }, nowMs, deps.poll),
      ...(profile !== undefined ? { profile } : {}),
      ...(videoDurationMs !== undefined ? { videoDurationMs } : {}),
      // Registered as it was submitted, with room to run: it runs since its submission, and its
      // first poll can wait for its likely end (lib/run/poller.ts) instead of asking at once.
      ...(atOnce && checked.submittedAtGiven && presumable(submittedAtMs, nowMs)
        ? { runningSinceMs: Math.min(submittedAtMs, nowMs) }
        : {}),
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

export async function registerTask(
  deps: RegistrationDeps,
  request: RegisterTaskRequest,
): Promise<{ task: TaskRow; created: boolean }> {
  // Local checks first: the URL checks may resolve host names.
  const checked = checkRegistration(request, deps.clock.now());
  return writeRegistration(deps, checked, await checkRegistrationUrls(deps, checked.urls));
}
