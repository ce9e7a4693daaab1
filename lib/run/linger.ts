/**
 * What a lingering run (RELAY_LINGER) waits for: this run's live running tasks and when each is next
 * due. After a claim finds nothing, the run sleeps until the earliest of them, if that falls within
 * the linger window and the budget; otherwise it ends, as an idle run always has.
 */
import type { TaskRow } from "../store/store.js";
import { type RunContext, taskKey } from "./context.js";

/** A lingering sleep that ends this much before its due time was cut short on purpose. */
export const EARLY_WAKE_MS = 50;

/** Before a wait longer than this, what the run learned is saved, so that a kill loses little. */
const SAVE_BEFORE_WAIT_MS = 10_000;

export class LingerSchedule {
  private readonly due = new Map<string, number>();
  private readonly untilMs: number | undefined;

  constructor(private readonly run: RunContext) {
    const lingerMs = run.deps.config.tick.lingerMs;
    this.untilMs = lingerMs === undefined ? undefined : run.startedAtMs + lingerMs;
  }

  /** Whether the linger window has passed (never, for a run that does not linger). */
  over(): boolean {
    return this.untilMs !== undefined && this.run.deps.clock.now() >= this.untilMs;
  }

  set(task: TaskRow, dueMs: number): void {
    this.due.set(taskKey(task), dueMs);
  }

  delete(task: TaskRow): void {
    this.due.delete(taskKey(task));
  }

  /** Tasks this run waited for that came due but another run claimed: no longer this run's to wait for. */
  forgetTakenElsewhere(claimAtMs: number, claimed: readonly TaskRow[]): void {
    const took = new Set(claimed.map(taskKey));
    for (const [key, dueMs] of this.due) if (dueMs <= claimAtMs && !took.has(key)) this.due.delete(key);
  }

  /**
   * Sleeps until the next running task is due, if that is worth waiting for. False when there is
   * nothing to wait for, or when the sleep was cut short (whoever gave the sleep wants the run to
   * end: Ctrl-C in dev).
   */
  async wait(saveLearned: () => Promise<void>): Promise<boolean> {
    if (this.untilMs === undefined || this.due.size === 0) return false;
    const { clock, sleep } = this.run.deps;
    // A loop, not Math.min(...values): spreading a run's every running task into arguments can overflow.
    let dueMs = Number.POSITIVE_INFINITY;
    for (const at of this.due.values()) if (at < dueMs) dueMs = at;
    if (dueMs > this.untilMs || dueMs >= this.run.stopStartingAtMs) return false;
    if (dueMs - clock.now() > SAVE_BEFORE_WAIT_MS) await saveLearned();
    const startMs = clock.now();
    if (dueMs > startMs) await sleep(dueMs - startMs);
    this.run.summary.lingeredMs += clock.now() - startMs;
    return clock.now() >= dueMs - EARLY_WAKE_MS;
  }
}
