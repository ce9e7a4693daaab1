/**
 * One simulated Bailian workspace: at most `asyncConcurrency` tasks run at once, the rest wait
 * PENDING in submission order (the API's documented behaviour). State is derived lazily from the
 * clock, so the model needs no timers and runs as well on a fake clock as on the real one.
 */

export type Outcome = "SUCCESSED" | "FAILED" | "CANCELED";

export interface SimTask {
  readonly taskId: string;
  readonly workspaceId: string;
  readonly submittedAtMs: number;
  readonly runMs: number;
  readonly outcome: Outcome;
  /** The submission's form fields (generateOptions etc.), which shape the result. */
  readonly request: Readonly<Record<string, string>>;
  startedAtMs?: number;
  endsAtMs?: number;
}

export type SimStatus = "PENDING" | "RUNNING" | Outcome;

export class SimWorkspace {
  readonly tasks = new Map<string, SimTask>();
  private readonly queue: SimTask[] = [];
  /** When each concurrency slot is next free. */
  private slotsFreeAtMs: number[];

  constructor(
    readonly workspaceId: string,
    asyncConcurrency: number,
  ) {
    this.slotsFreeAtMs = Array.from({ length: asyncConcurrency }, () => 0);
  }

  get asyncConcurrency(): number {
    return this.slotsFreeAtMs.length;
  }

  setConcurrency(n: number, nowMs: number): void {
    this.settle(nowMs);
    const slots = [...this.slotsFreeAtMs].sort((a, b) => a - b);
    while (slots.length < n) slots.unshift(nowMs);
    // Shrinking keeps the busiest slots: running tasks are never preempted.
    this.slotsFreeAtMs = slots.slice(slots.length - n);
  }

  add(task: SimTask): void {
    this.tasks.set(task.taskId, task);
    this.queue.push(task);
  }

  /** Starts every queued task whose slot has freed by `nowMs`, in submission order. */
  settle(nowMs: number): void {
    while (this.queue.length > 0) {
      const head = this.queue[0] as SimTask;
      let slot = 0;
      for (let i = 1; i < this.slotsFreeAtMs.length; i++) {
        if ((this.slotsFreeAtMs[i] as number) < (this.slotsFreeAtMs[slot] as number)) slot = i;
      }
      const startAt = Math.max(this.slotsFreeAtMs[slot] as number, head.submittedAtMs);
      if (startAt > nowMs) return;
      head.startedAtMs = startAt;
      head.endsAtMs = startAt + head.runMs;
      this.slotsFreeAtMs[slot] = head.endsAtMs;
      this.queue.shift();
    }
  }

  statusOf(task: SimTask, nowMs: number): SimStatus {
    this.settle(nowMs);
    if (task.startedAtMs === undefined || task.endsAtMs === undefined) return "PENDING";
    return nowMs < task.endsAtMs ? "RUNNING" : task.outcome;
  }

  counts(nowMs: number): Record<SimStatus, number> {
    const counts: Record<SimStatus, number> = { PENDING: 0, RUNNING: 0, SUCCESSED: 0, FAILED: 0, CANCELED: 0 };
    for (const task of this.tasks.values()) counts[this.statusOf(task, nowMs)]++;
    return counts;
  }
}
