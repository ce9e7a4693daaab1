/**
 * Submit and register: SubmitVideoAnalysisTask, then the new task registered for the relay to
 * watch. A submission is billable and cannot be taken back, so everything that could refuse the
 * registration is checked before it, and each deduplicationId's outcome is kept (a setting per
 * submission) so that a repeat answers with the task it made instead of submitting again.
 */
import { createHash, randomUUID } from "node:crypto";
import { InputError, RelayError, type RelayErrorOptions } from "./errors.js";
import { checkJsonBounds } from "./input.js";
import type { QuanmiaoClient } from "./quanmiao/client.js";
import { checkVideoUrls, type SubmitTaskRequest, submissionProfile, toFormFields } from "./quanmiao/submit.js";
import type { Store, TaskRow } from "./store/store.js";
import {
  checkIdField,
  checkRegistrationFields,
  checkRegistrationUrls,
  type RegistrationDeps,
  writeRegistration,
} from "./tasks.js";

/** The API forgets a deduplicationId after 72 h; so does this record of it. */
export const DEDUPLICATION_WINDOW_MS = 72 * 3_600_000;
/** Registration attempts after a successful submit before the caller is told to finish it. */
const REGISTER_ATTEMPTS = 3;

export interface SubmitAndRegisterRequest {
  readonly workspaceId: string;
  readonly request: SubmitTaskRequest;
  readonly deduplicationId?: string | undefined;
  readonly webhooks?: readonly string[] | undefined;
  readonly metadata?: Record<string, unknown> | undefined;
  /** The relay's own hint (never sent to the API): how long the video is, in seconds. */
  readonly videoDurationSeconds?: number | undefined;
}

export interface Submitted {
  readonly taskId: string;
  readonly deduplicationId: string;
  readonly task: TaskRow;
  /** False when a repeat of an earlier submission only found (or finished) its registration. */
  readonly created: boolean;
}

/** The same deduplicationId, for a different submission, or while the first is still being made. */
export class SubmissionConflictError extends InputError {}

/**
 * The API accepted the submission but the relay could not register the task: the caller holds a
 * task id nothing watches yet. Repeating the request with the same deduplicationId registers it.
 */
export class UnregisteredSubmissionError extends RelayError {
  readonly retryable = true;
  constructor(
    readonly taskId: string,
    readonly deduplicationId: string,
    options: RelayErrorOptions = {},
  ) {
    super(
      `submitted as task ${taskId} (deduplicationId ${deduplicationId}) but not registered; repeat this request ` +
        `with the same deduplicationId, or register the task with POST /v1/tasks`,
      options,
    );
  }
}

interface SubmissionRecord {
  readonly atMs: number;
  readonly fingerprint: string;
  /** Absent while the submission is being made (or if it failed). */
  readonly taskId?: string;
}

export const SUBMISSION_PREFIX = "submission:";
/** A Tablestore key holds 1 KB; ids may be 256 characters each, of up to 3 bytes. */
const MAX_KEY_BYTES = 1024;

/**
 * A submission's record: by its ids as they are, or by their hash where that key would be too
 * long or ambiguous. Workspace `a:b` with id `c` and workspace `a` with id `b:c` would share
 * `submission:a:b:c`, and the second was refused as the first's duplicate. A workspace id without
 * a colon ends at the key's first colon, and ids hold no NUL (control characters are refused), so
 * neither form can name two submissions. A hashed key has no colon after its `#`, which a plain one always has.
 */
export function submissionKey(workspaceId: string, deduplicationId: string): string {
  const key = plainSubmissionKey(workspaceId, deduplicationId);
  if (!workspaceId.includes(":") && Buffer.byteLength(key) <= MAX_KEY_BYTES) return key;
  return `${SUBMISSION_PREFIX}#${createHash("sha256").update(`${workspaceId}\u0000${deduplicationId}`).digest("hex")}`;
}

/** The key as it reads; an older relay kept every record of 1 KB or less under it. */
const plainSubmissionKey = (workspaceId: string, deduplicationId: string) =>
  `${SUBMISSION_PREFIX}${workspaceId}:${deduplicationId}`;

/**
 * Each record is also entered under its time (its key as the value), so that the records past
 * the window are found by one range read (lib/submission-expiry.ts) instead of by reading them all.
 * Named by a hash of the record's key: a Tablestore key holds 1 KB, which a record's key of long
 * ids, with 30 bytes more, would not fit in.
 */
export const SUBMISSION_MARK_PREFIX = "submission-at:";
/** Where the marks of `atMs` begin: every mark before it sorts before this. */
export const submissionMarksAt = (atMs: number) =>
  `${SUBMISSION_MARK_PREFIX}${String(Math.max(0, Math.floor(atMs))).padStart(15, "0")}`;
export const submissionMarkKey = (atMs: number, key: string) =>
  `${submissionMarksAt(atMs)}:${createHash("sha256").update(key).digest("hex").slice(0, 32)}`;

export function parseRecord(raw: string | undefined): SubmissionRecord | undefined {
  if (raw === undefined) return undefined;
  try {
    const value = JSON.parse(raw) as Partial<SubmissionRecord>;
    if (typeof value.atMs === "number" && typeof value.fingerprint === "string") return value as SubmissionRecord;
  } catch {
    // An unreadable record is treated as none: the API's own deduplication still holds.
  }
  return undefined;
}

/** Key order never makes two equal requests differ. Depth is bounded before this runs. */
function stable(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stable).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${stable((value as Record<string, unknown>)[k])}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

export interface SubmitDeps {
  readonly registration: RegistrationDeps;
  readonly client: Pick<QuanmiaoClient, "submitTask">;
  /**
   * Reads a video's duration from its file's header (undefined when it cannot: it never throws).
   * Asked when a submission of one video comes without a hint; without it, nothing is read.
   */
  readonly videoDuration?: ((url: string) => Promise<number | undefined>) | undefined;
}

/**
 * The one video a submission analyses, when it is one: several merged into one task would need
 * every file read and summed, so a hint for them comes from the caller or not at all.
 */
function singleVideo(request: SubmitTaskRequest): string | undefined {
  if (typeof request.videoUrl === "string") return request.videoUrl;
  const urls = request.videoUrls;
  return Array.isArray(urls) && urls.length === 1 && typeof urls[0] === "string" ? urls[0] : undefined;
}

export async function submitAndRegister(deps: SubmitDeps, body: SubmitAndRegisterRequest): Promise<Submitted> {
  const { store, clock } = deps.registration;
  const nowMs = clock.now();
  // Everything the registration will check, checked before anything is billed.
  checkJsonBounds("request", body.request);
  checkVideoUrls(body.request, (name) => `request.${name}`);
  toFormFields(body.request);
  const profile = submissionProfile(body.request);
  const fields = checkRegistrationFields(
    {
      workspaceId: body.workspaceId,
      webhooks: body.webhooks,
      metadata: body.metadata,
      submittedAtMs: nowMs,
      profile,
      ...(body.videoDurationSeconds !== undefined ? { videoDurationSeconds: body.videoDurationSeconds } : {}),
    },
    nowMs,
  );
  const urls = await checkRegistrationUrls(deps.registration, fields.urls);
  const given = body.deduplicationId ?? body.request.deduplicationId;
  const deduplicationId = given === undefined ? randomUUID() : checkIdField("deduplicationId", given);
  const request = { ...body.request, deduplicationId };
  const fingerprint = createHash("sha256")
    .update(stable([fields.workspaceId, request]))
    .digest("hex");

  const register = (taskId: string, videoDurationMs = fields.videoDurationMs, submittedAtMs = fields.submittedAtMs) =>
    writeRegistration(deps.registration, { ...fields, videoDurationMs, submittedAtMs, taskId }, urls);
  const key = submissionKey(fields.workspaceId, deduplicationId);
  const raw = await store.getSetting(key);
  const earlier = parseRecord(raw) ?? (await legacyRecord(store, fields.workspaceId, deduplicationId, fingerprint));
  const current = earlier && earlier.atMs > nowMs - DEDUPLICATION_WINDOW_MS ? earlier : undefined;
  if (current && current.fingerprint !== fingerprint) {
    throw new SubmissionConflictError("was used within 72 h for a different submission", { field: "deduplicationId" });
  }
  if (current?.taskId !== undefined) {
    const taskId = current.taskId;
    // Submitted when the first request was: not presumed to have started now.
    const { task } = await registerWithRetries(
      (id) => register(id, fields.videoDurationMs, current.atMs),
      taskId,
      deduplicationId,
    );
    return { taskId, deduplicationId, task, created: false };
  }

  const pending: SubmissionRecord = { atMs: nowMs, fingerprint };
  // Marked before it is written, so that no record is left unmarked. A mark whose record lost the
  // race below, or was never written, is deleted when it expires (with the record it names only if
  // that has expired too).
  await store.compareAndSetSetting(submissionMarkKey(nowMs, key), undefined, key);
  if (!(await writePending(store, key, raw, JSON.stringify(pending), nowMs))) {
    throw new SubmissionConflictError("is being submitted by another request; repeat this one in a moment", {
      field: "deduplicationId",
    });
  }
  // Read while the API is asked, so the submission waits for nothing; the reader's own deadline
  // bounds how long the registration may wait for it.
  const video = fields.videoDurationMs === undefined ? singleVideo(body.request) : undefined;
  const reading =
    video !== undefined && deps.videoDuration ? deps.videoDuration(video).catch(() => undefined) : undefined;
  const { taskId } = await deps.client.submitTask(fields.workspaceId, request);
  // Kept before registering, so that a repeat finds the task even if registering fails now. If
  // keeping it fails, registering still goes ahead: a watched task matters more than a repeat.
  const done: SubmissionRecord = { ...pending, taskId };
  await store.compareAndSetSetting(key, JSON.stringify(pending), JSON.stringify(done)).catch(() => false);
  const videoDurationMs = fields.videoDurationMs ?? (await reading);
  const { task } = await registerWithRetries((id) => register(id, videoDurationMs), taskId, deduplicationId);
  return { taskId, deduplicationId, task, created: true };
}

/**
 * A repeat, within 72 h of an upgrade, of a submission an older relay kept under the ambiguous key:
 * taken only if it is this very request's, since another workspace's may sit there. Anything else
 * there is left to expire; the API itself still refuses a true duplicate.
 */
async function legacyRecord(
  store: Store,
  workspaceId: string,
  deduplicationId: string,
  fingerprint: string,
): Promise<SubmissionRecord | undefined> {
  const key = plainSubmissionKey(workspaceId, deduplicationId);
  // Over 1 KB, the older relay hashed it too: under the key just read.
  if (!workspaceId.includes(":") || Buffer.byteLength(key) > MAX_KEY_BYTES) return undefined;
  const record = parseRecord(await store.getSetting(key));
  return record?.fingerprint === fingerprint && record.taskId !== undefined ? record : undefined;
}

/**
 * The pending record, written over what was read; once more over what is there now if that is no
 * record within its window either: an expired record deleted meanwhile (lib/submission-expiry.ts)
 * is not another request's submission.
 */
async function writePending(
  store: Store,
  key: string,
  raw: string | undefined,
  pending: string,
  nowMs: number,
): Promise<boolean> {
  if (await store.compareAndSetSetting(key, raw, pending)) return true;
  const now = await store.getSetting(key);
  const record = parseRecord(now);
  if (record && record.atMs > nowMs - DEDUPLICATION_WINDOW_MS) return false;
  return store.compareAndSetSetting(key, now, pending);
}

async function registerWithRetries(
  register: (taskId: string) => Promise<{ task: TaskRow; created: boolean }>,
  taskId: string,
  deduplicationId: string,
): Promise<{ task: TaskRow; created: boolean }> {
  let last: unknown;
  for (let attempt = 1; attempt <= REGISTER_ATTEMPTS; attempt++) {
    try {
      return await register(taskId);
    } catch (error) {
      last = error;
      // A task id the relay refuses (the API's, not the caller's) will be refused again.
      if (error instanceof InputError) break;
    }
  }
  throw new UnregisteredSubmissionError(taskId, deduplicationId, { cause: last });
}
