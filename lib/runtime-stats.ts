/**
 * A run's view of the learned run times: each workspace's models are read once (and again after
 * REFRESH_MS in a long run), ends are added to them at once, and written back in one
 * compare-and-set per workspace when the run flushes. They live in the settings record
 * (`runtimes:<workspaceId>`), which both stores already hold, so learning needs no table of its own.
 *
 * The same ends are also added to the relay's models (`runtimes-all`, every workspace together), which
 * a workspace uses until it has enough of its own.
 *
 * The models are a hint, never the truth: a run that dies before flushing loses its few samples,
 * and an unreadable document is no model (the prior applies).
 */

import type { Clock } from "./clock.js";
import { describeError } from "./errors.js";
import { describeModel } from "./poll-timing.js";
import { quantileMs } from "./runtime-density.js";
import type { RunTimeSpan } from "./runtime-model.js";
import {
  ALL_PROFILES,
  type ChosenModel,
  chooseModel,
  isModelsDocument,
  parseModels,
  recordRunTime,
  serializeModels,
  type WorkspaceModels,
} from "./runtimes.js";
import type { Store, TaskRow } from "./store/store.js";

/**
 * Version 2 documents (1 % bins, per-video models) live under their own keys: an older relay still
 * running during a deploy or a rollback reads and rewrites its own version-1 documents and never
 * overwrites these. A workspace without one starts from its version-1 document.
 */
export const RUNTIMES_KEY_PREFIX = "runtimes2:";
export const RUNTIMES_V1_KEY_PREFIX = "runtimes:";
/** Every workspace's ends together: not a workspace key, since workspace ids cannot hold "-all". */
export const RUNTIMES_ALL_KEY = "runtimes-all";
const REFRESH_MS = 5 * 60_000;
const CAS_TRIES = 5;

interface Entry {
  models: Promise<WorkspaceModels>;
  readAtMs: number;
  pending: Sample[];
}

interface Sample {
  readonly profile: string | undefined;
  readonly run: number | RunTimeSpan;
  readonly videoMs: number | undefined;
  readonly failed: boolean;
}

const apply = (models: WorkspaceModels, s: Sample) => recordRunTime(models, s.profile, s.run, s.videoMs, s.failed);

export async function readRunTimes(store: Pick<Store, "getSetting">, workspaceId: string): Promise<WorkspaceModels> {
  return parseModels(await readDocument(store, RUNTIMES_KEY_PREFIX + workspaceId));
}

/** The stored document under `key`, or for a workspace that has none yet, its version-1 document. */
async function readDocument(store: Pick<Store, "getSetting">, key: string): Promise<string | undefined> {
  const text = await store.getSetting(key);
  if (text !== undefined || !key.startsWith(RUNTIMES_KEY_PREFIX)) return text;
  return store.getSetting(RUNTIMES_V1_KEY_PREFIX + key.slice(RUNTIMES_KEY_PREFIX.length));
}

export async function readRelayRunTimes(store: Pick<Store, "getSetting">): Promise<WorkspaceModels> {
  return parseModels(await store.getSetting(RUNTIMES_ALL_KEY));
}

export class RunTimeStats {
  /** Keyed by settings key: one per workspace, and the relay's. */
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly deps: { store: Store; clock: Clock }) {}

  models(workspaceId: string): Promise<WorkspaceModels> {
    return this.entry(RUNTIMES_KEY_PREFIX + workspaceId).models;
  }

  /** Every workspace's ends together. */
  relayModels(): Promise<WorkspaceModels> {
    return this.entry(RUNTIMES_ALL_KEY).models;
  }

  /** A task's end: how long it ran, and whether it failed (failures are also kept apart, see FAILED_PREFIX). */
  record(
    workspaceId: string,
    profile: string | undefined,
    run: number | RunTimeSpan,
    videoMs?: number,
    failed = false,
  ): void {
    const sample = { profile, run, videoMs, failed };
    for (const key of [RUNTIMES_KEY_PREFIX + workspaceId, RUNTIMES_ALL_KEY]) {
      const entry = this.entry(key);
      entry.models = entry.models.then((m) => apply(m, sample));
      entry.pending.push(sample);
    }
  }

  /** Writes what this run learned; a conflict re-reads and re-applies. Never throws for one document. */
  async flush(log?: (entry: Record<string, unknown>) => void): Promise<void> {
    for (const [key, entry] of this.entries) {
      if (entry.pending.length === 0) continue;
      const pending = entry.pending.splice(0);
      let saved = false;
      try {
        for (let i = 0; i < CAS_TRIES && !saved; i++) {
          const stored = await this.deps.store.getSetting(key);
          // A document this version cannot read (a newer one's) is not overwritten with less.
          if (stored !== undefined && !isModelsDocument(stored)) {
            log?.({ level: "warn", msg: "left a run-times document this version cannot read", key });
            saved = true;
            break;
          }
          let models = parseModels(stored ?? (await readDocument(this.deps.store, key)));
          for (const s of pending) models = apply(models, s);
          if (await this.deps.store.compareAndSetSetting(key, stored, serializeModels(models))) {
            // What is stored now, plus anything recorded while this was written.
            let current = models;
            for (const s of entry.pending) current = apply(current, s);
            entry.models = Promise.resolve(current);
            entry.readAtMs = this.deps.clock.now();
            saved = true;
          }
        }
        // Still contended after every try: kept for the next flush.
        if (!saved) entry.pending.unshift(...pending);
      } catch (error) {
        entry.pending.unshift(...pending);
        log?.({ level: "warn", msg: "could not save learned run times", key, error: describeError(error) });
      }
    }
  }

  /** A document's entry, read once and again after REFRESH_MS when nothing is pending. */
  private entry(key: string): Entry {
    const nowMs = this.deps.clock.now();
    let entry = this.entries.get(key);
    if (!entry) {
      entry = { models: this.read(key), readAtMs: nowMs, pending: [] };
      this.entries.set(key, entry);
    } else if (nowMs - entry.readAtMs >= REFRESH_MS && entry.pending.length === 0) {
      entry.models = this.read(key);
      entry.readAtMs = nowMs;
    }
    return entry;
  }

  private read(key: string): Promise<WorkspaceModels> {
    // A failed read is no model: polling falls back to the prior rather than failing.
    return readDocument(this.deps.store, key)
      .then(parseModels)
      .catch(() => ({}));
  }
}

/**
 * What the relay has learned about a task's run time and how it polls it, for `tasks show` and
 * `GET /v1/tasks/{ws}/{id}`: which model applies (the task's profile, its workspace, or the
 * prior), that model's figures, and for a running task how long it has run.
 */
export async function taskTiming(
  store: Pick<Store, "getSetting">,
  task: TaskRow,
  detectionTargetMs: number | undefined,
  nowMs: number,
) {
  const models = await readRunTimes(store, task.workspaceId);
  const chosen = chooseModel(models, await readRelayRunTimes(store), task.profile, task.videoDurationMs);
  const source: ChosenModel["source"] | "prior" = chosen?.source ?? "prior";
  const figures = chosen ? describeModel(chosen, detectionTargetMs ?? 10_000) : undefined;
  const running = task.state === "active" && task.runningSinceMs !== undefined;
  return {
    detectionTargetMs: detectionTargetMs ?? null,
    learnedFrom: source,
    perVideoMinute: chosen?.perVideo ?? false,
    /** Failures at a fixed run time, planned apart from successes scaled to the video. */
    failuresApart: chosen?.failures
      ? {
          share: Math.round(chosen.failures.share * 1_000) / 1_000,
          p50Ms: quantileMs(chosen.failures.model, 0.5) ?? null,
        }
      : null,
    profile: task.profile ?? null,
    samples: figures?.samples ?? (models[task.profile ?? ALL_PROFILES] ?? models[ALL_PROFILES])?.samples ?? 0,
    runTimeMs: figures ? { p25: figures.p25Ms, p50: figures.p50Ms, p75: figures.p75Ms, p95: figures.p95Ms } : null,
    /** Stretches of run time polled at the target; outside them, sparsely. */
    densePollingMs: figures?.denseMs ?? null,
    runningForMs: running ? nowMs - (task.runningSinceMs as number) : null,
    expectedEndAt:
      running && figures?.p50Ms != null
        ? new Date((task.runningSinceMs as number) + figures.p50Ms).toISOString()
        : null,
  };
}
