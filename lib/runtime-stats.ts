/**
 * A run's view of the learned run times: each workspace's models are read once (and again after
 * REFRESH_MS in a long run), ends are added to them at once, and written back in one
 * compare-and-set per workspace when the run flushes. They live in the settings record
 * (`runtimes:<workspaceId>`), which both stores already hold, so learning needs no table of its own.
 *
 * The models are a hint, never the truth: a run that dies before flushing loses its few samples,
 * and an unreadable document is no model (the prior applies).
 */

import type { Clock } from "./clock.js";
import { describeError } from "./errors.js";
import {
  ALL_PROFILES,
  describeModel,
  modelFor,
  parseModels,
  recordRunTime,
  serializeModels,
  type WorkspaceModels,
} from "./runtimes.js";
import type { Store, TaskRow } from "./store/store.js";

export const RUNTIMES_KEY_PREFIX = "runtimes:";
const REFRESH_MS = 5 * 60_000;
const CAS_TRIES = 5;

interface Entry {
  models: Promise<WorkspaceModels>;
  readAtMs: number;
  pending: Array<{ profile: string | undefined; runMs: number }>;
}

export async function readRunTimes(store: Pick<Store, "getSetting">, workspaceId: string): Promise<WorkspaceModels> {
  return parseModels(await store.getSetting(RUNTIMES_KEY_PREFIX + workspaceId));
}

export class RunTimeStats {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly deps: { store: Store; clock: Clock }) {}

  models(workspaceId: string): Promise<WorkspaceModels> {
    const nowMs = this.deps.clock.now();
    let entry = this.entries.get(workspaceId);
    if (!entry) {
      entry = { models: this.read(workspaceId), readAtMs: nowMs, pending: [] };
      this.entries.set(workspaceId, entry);
    } else if (nowMs - entry.readAtMs >= REFRESH_MS && entry.pending.length === 0) {
      entry.models = this.read(workspaceId);
      entry.readAtMs = nowMs;
    }
    return entry.models;
  }

  record(workspaceId: string, profile: string | undefined, runMs: number): void {
    const entry = this.entries.get(workspaceId);
    if (!entry) {
      this.entries.set(workspaceId, {
        models: this.read(workspaceId).then((m) => recordRunTime(m, profile, runMs)),
        readAtMs: this.deps.clock.now(),
        pending: [{ profile, runMs }],
      });
      return;
    }
    entry.models = entry.models.then((m) => recordRunTime(m, profile, runMs));
    entry.pending.push({ profile, runMs });
  }

  /** Writes what this run learned; a conflict re-reads and re-applies. Never throws for one workspace. */
  async flush(log?: (entry: Record<string, unknown>) => void): Promise<void> {
    for (const [workspaceId, entry] of this.entries) {
      if (entry.pending.length === 0) continue;
      const pending = entry.pending.splice(0);
      const key = RUNTIMES_KEY_PREFIX + workspaceId;
      let saved = false;
      try {
        for (let i = 0; i < CAS_TRIES && !saved; i++) {
          const stored = await this.deps.store.getSetting(key);
          let models = parseModels(stored);
          for (const s of pending) models = recordRunTime(models, s.profile, s.runMs);
          if (await this.deps.store.compareAndSetSetting(key, stored, serializeModels(models))) {
            // What is stored now, plus anything recorded while this was written.
            let current = models;
            for (const s of entry.pending) current = recordRunTime(current, s.profile, s.runMs);
            entry.models = Promise.resolve(current);
            entry.readAtMs = this.deps.clock.now();
            saved = true;
          }
        }
        // Still contended after every try: kept for the next flush.
        if (!saved) entry.pending.unshift(...pending);
      } catch (error) {
        entry.pending.unshift(...pending);
        log?.({
          level: "warn",
          msg: "could not save learned run times",
          workspaceId,
          error: describeError(error),
        });
      }
    }
  }

  private read(workspaceId: string): Promise<WorkspaceModels> {
    // A failed read is no model: polling falls back to the prior rather than failing.
    return readRunTimes(this.deps.store, workspaceId).catch(() => ({}));
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
  const model = modelFor(models, task.profile);
  const source: "prior" | "profile" | "workspace" =
    model === undefined
      ? "prior"
      : task.profile !== undefined && model === models[task.profile]
        ? "profile"
        : "workspace";
  const figures = model ? describeModel(model) : undefined;
  const running = task.state === "active" && task.runningSinceMs !== undefined;
  return {
    detectionTargetMs: detectionTargetMs ?? null,
    learnedFrom: source,
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
