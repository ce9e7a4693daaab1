/**
 * What every phase of a timer run shares: its deps, its budget and lease, its limits on API calls,
 * and the summary it fills in. Built once per run by `runTick`.
 */
import { randomUUID } from "node:crypto";
import type { Clock } from "../clock.js";
import { Semaphore } from "../concurrency.js";
import type { Config, PollConfig } from "../config.js";
import type { EventBridgeDeps } from "../delivery/deliver.js";
import type { HealthMemory } from "../delivery/endpoint-queues.js";
import type { AsyncInvoker } from "../delivery/fanout.js";
import type { Resolver } from "../delivery/guard.js";
import type { WebhookSender } from "../delivery/send.js";
import { RateLimiter, type Sleep } from "../limiter.js";
import type { Log } from "../log.js";
import type { RelayMetrics } from "../metrics.js";
import type { QuanmiaoClient } from "../quanmiao/client.js";
import type { Store, TaskRow } from "../store/store.js";

export interface TickDeps {
  readonly store: Store;
  readonly client: QuanmiaoClient;
  readonly config: Config;
  readonly clock: Clock;
  readonly sleep: Sleep;
  readonly random: () => number;
  readonly sender: WebhookSender;
  readonly resolve?: Resolver | undefined;
  /** Lease owner name; unique per run by default. */
  readonly owner?: string;
  readonly quickRetries?: number;
  readonly log?: Log | undefined;
  /** With RELAY_DISPATCH=fc: queues invocations of the deliver function (fan-out). */
  readonly invoker?: AsyncInvoker | undefined;
  /** Where a process that serves GET /metrics counts what its runs did. */
  readonly metrics?: RelayMetrics | undefined;
  /** Publishing to EventBridge buses (delivery/eventbridge-batch.ts). */
  readonly eventBridge?: EventBridgeDeps | undefined;
  /** What delivery passes learned of endpoints, kept for the process's runs (delivery/endpoint-memory.ts). */
  readonly endpointMemory?: HealthMemory | undefined;
}

export interface TickSummary {
  polled: number;
  /** Tasks whose status changed. */
  changed: number;
  events: number;
  delivered: number;
  retried: number;
  dead: number;
  /** Deliveries put off without an attempt: their endpoint's circuit is open. */
  deferred: number;
  /** Deliveries the run held but had no time to attempt, given back for the next run. */
  released: number;
  /** Deliveries handed to the deliver function, and the invocations that carried them. */
  handedOff: number;
  invocations: number;
  throttled: number;
  expired: number;
  errors: number;
  /**
   * Ends noticed more than RELAY_DETECTION_TARGET after the poll before (they may have been
   * noticed later than the target; the true delay is somewhere in that gap).
   */
  lateEnds: number;
  /** Time this run spent asleep waiting for its running tasks' next polls (RELAY_LINGER). */
  lingeredMs: number;
  /** Events (with their deliveries) this run deleted under RELAY_RETENTION. */
  purged: number;
  /** Submission records past their 72 h deduplication window that this run deleted. */
  submissionsForgotten: number;
  /** Workspaces backed off after an AuthError in this run. */
  authFailures: string[];
  /** True when the run stopped because its budget ran out with work left. */
  budgetExhausted: boolean;
  durationMs: number;
}

export function emptySummary(): TickSummary {
  return {
    polled: 0,
    changed: 0,
    events: 0,
    delivered: 0,
    retried: 0,
    dead: 0,
    deferred: 0,
    released: 0,
    handedOff: 0,
    invocations: 0,
    throttled: 0,
    expired: 0,
    errors: 0,
    lateEnds: 0,
    lingeredMs: 0,
    purged: 0,
    submissionsForgotten: 0,
    authFailures: [],
    budgetExhausted: false,
    durationMs: 0,
  };
}

export interface RunContext {
  readonly deps: TickDeps;
  readonly policy: PollConfig;
  readonly owner: string;
  readonly leaseMs: number;
  readonly startedAtMs: number;
  /** Past this, no new work starts: what was started must still finish within the budget. */
  readonly stopStartingAtMs: number;
  readonly summary: TickSummary;
  readonly limiter: RateLimiter;
  readonly apiSlots: Semaphore;
  timeLeft(): boolean;
  log: Log;
}

export function runContext(deps: TickDeps, budgetMs: number): RunContext {
  const { clock, config } = deps;
  const startedAtMs = clock.now();
  // Stop starting new work when this little is left.
  const reserveMs = Math.min(budgetMs * 0.2, 10_000);
  const stopStartingAtMs = startedAtMs + budgetMs - reserveMs;
  return {
    deps,
    policy: config.poll,
    owner: deps.owner ?? `tick-${randomUUID()}`,
    leaseMs: budgetMs + 60_000,
    startedAtMs,
    stopStartingAtMs,
    summary: emptySummary(),
    limiter: new RateLimiter(config.poll.apiQps, clock, deps.sleep),
    apiSlots: new Semaphore(config.poll.apiConcurrency),
    timeLeft: () => clock.now() < stopStartingAtMs,
    log: (entry) => deps.log?.(entry),
  };
}

export const taskKey = (t: Pick<TaskRow, "workspaceId" | "taskId">) => `${t.workspaceId}\u0000${t.taskId}`;
