/**
 * One delivery attempt and what its answer does to the delivery and its endpoint:
 * 2xx delivered; 410 disables the endpoint; 429/503 honour Retry-After within bounds; anything
 * else follows the retry schedule, and after the last attempt the delivery is dead, with the reason.
 * The delivery row is the truth: every outcome is written there before the next attempt is thought of.
 */
import type { Clock } from "../clock.js";
import type { DeliveryConfig } from "../config.js";
import { describeError, RefusedTargetError } from "../errors.js";
import type { EventBridgePublisher } from "../eventbridge/client.js";
import type { Sleep } from "../limiter.js";
import type { RelayMetrics } from "../metrics.js";
import { defaultSecrets } from "../secrets.js";
import {
  ATTEMPT_LOG_SIZE,
  type AttemptRecord,
  type DeliveryRow,
  type DeliveryUpdate,
  type EventRow,
  type Store,
  type WebhookRow,
  type WebhookSecret,
} from "../store/store.js";
import { CIRCUIT_FAILURES, CircuitBreakers } from "./circuit.js";
import { noteEndpoint } from "./endpoint-health.js";
import type { HealthMemory } from "./endpoint-queues.js";
import { EventCache } from "./event-cache.js";
import { frameEvent } from "./framing.js";
import type { Resolver } from "./guard.js";
import { RateLimits } from "./rate.js";
import { attemptDelay, boundedRetryAfter } from "./schedule.js";
import type { AttemptResult, WebhookSender } from "./send.js";
import { sendSigned } from "./signed-send.js";

export type DeliveryOutcome = "delivered" | "retry" | "dead" | "skipped";

export interface DeliveryDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly sleep: Sleep;
  readonly random: () => number;
  readonly config: DeliveryConfig;
  readonly sender: WebhookSender;
  readonly resolve?: Resolver | undefined;
  readonly owner: string;
  readonly defaultSecrets: () => Promise<readonly WebhookSecret[]>;
  /** Quick retries of connection errors inside the run (p-retry); 0 turns them off. */
  readonly quickRetries?: number;
  readonly log?: ((entry: Record<string, unknown>) => void) | undefined;
  readonly metrics?: RelayMetrics | undefined;
  /** Publishing to EventBridge buses (eventbridge-batch.ts); region and account: a target's defaults. */
  readonly eventBridge?: EventBridgeDeps | undefined;
  /** What passes learned of endpoints, kept between them (endpoint-memory.ts); else each pass's own. */
  readonly endpointMemory?: HealthMemory | undefined;
}

export interface EventBridgeDeps {
  readonly publisher: EventBridgePublisher;
  readonly region?: string | undefined;
  readonly accountId?: string | undefined;
  /** Rows a request takes at most: PutEvents' 16, fewer only to measure what batching buys (bench/). */
  readonly batchSize?: number | undefined;
}

/**
 * A run reads an endpoint's webhook row again when its cached copy is this old, so that disabling,
 * deleting or re-pointing an endpoint takes effect within seconds even for a run in progress.
 */
export const WEBHOOK_CACHE_MS = 5_000;

/** Per-run caches: a run reads each event about once (event-cache.ts) and each webhook every few seconds, however many deliveries share them. */
export class DeliveryRun {
  private readonly webhooks = new Map<string, { row: Promise<WebhookRow | undefined>; readAtMs: number }>();
  private readonly events: EventCache;
  readonly circuits: CircuitBreakers;
  readonly rates: RateLimits;
  constructor(readonly deps: DeliveryDeps) {
    this.circuits = new CircuitBreakers(deps, deps.config.circuit, probeWindowMs(deps.config));
    this.rates = new RateLimits(deps);
    this.events = new EventCache((id) => deps.store.getEvent(id));
  }

  /** The endpoint's rate limit (per-task URLs have none). */
  async rateLimitOf(row: DeliveryRow): Promise<number | undefined> {
    if (isTaskTarget(row.webhookId)) return undefined;
    return (await this.webhook(row.webhookId))?.rateLimitPerSecond;
  }

  webhook(id: string): Promise<WebhookRow | undefined> {
    const nowMs = this.deps.clock.now();
    let cached = this.webhooks.get(id);
    if (!cached || nowMs - cached.readAtMs >= WEBHOOK_CACHE_MS) {
      cached = { row: this.deps.store.getWebhook(id), readAtMs: nowMs };
      this.webhooks.set(id, cached);
    }
    return cached.row;
  }

  forgetWebhook(id: string): void {
    this.webhooks.delete(id);
  }

  /** An event this run just wrote: its deliveries need not read it back. */
  remember(event: EventRow): void {
    this.events.remember(event);
  }

  event(id: string): Promise<EventRow | undefined> {
    return this.events.get(id);
  }
}

/**
 * A delivery run whose default signing secrets are read once, when the first delivery needs them:
 * the one way runs are built (the timer run and the deliver function alike).
 */
export function openDeliveryRun(deps: Omit<DeliveryDeps, "defaultSecrets">): DeliveryRun {
  let secrets: Promise<WebhookSecret[]> | undefined;
  return new DeliveryRun({
    ...deps,
    defaultSecrets: () => {
      secrets ??= defaultSecrets(deps.store);
      return secrets;
    },
  });
}

/** The first bytes of an answer kept per attempt (the last answer keeps up to 4 KiB on the row). */
const RESPONSE_BYTES_LOGGED = 256;

/** A task's own URL (`task:…`), not a registered webhook. */
export const isTaskTarget = (webhookId: string) => webhookId.startsWith("task:");

/**
 * The longest one attempt can take: the timeout, and after fast connection failures up to two
 * quick retries (signed-send.ts) with their pauses, and under a rate limit their waits for a slot
 * (RETRY_SLOT_WAIT_MS each). A probe holds its circuit this long.
 */
export const probeWindowMs = (config: Pick<DeliveryConfig, "timeoutMs">) => config.timeoutMs + 3_000;

function describeFailure(result: AttemptResult): string {
  if (result.error) return result.error;
  const status = result.statusCode ?? 0;
  if (status >= 300 && status < 400)
    return `HTTP ${status}: redirects are not followed; point the webhook at the final URL`;
  return `HTTP ${status}`;
}

/**
 * What a request told of its endpoint: it answered (any HTTP status), promptly or slowly, or nobody
 * answered in time (the circuit's failures); undefined when no request was made or it failed otherwise.
 */
export type Reached = "answered" | "slow" | "unreachable" | undefined;

/**
 * An answer later than this holds its worker nearly as long as a timeout does: its endpoint shares
 * the failing ones' half of the workers (endpoint-queues.ts), so a few slow receivers cannot take all.
 */
export const slowAnswerMs = (config: Pick<DeliveryConfig, "timeoutMs">) => config.timeoutMs / 4;

/** The longest a quick retry waits for its rate-limit slot; one later leaves the retry to the schedule. */
export const RETRY_SLOT_WAIT_MS = 400;

/** A slot for a quick retry to a rate-limited endpoint, waited for; false when none is free soon enough. */
async function retrySlot(run: DeliveryRun, endpoint: string, perSecond: number): Promise<boolean> {
  const { clock, sleep } = run.deps;
  const r = await run.rates.reserve(endpoint, perSecond, clock.now() + RETRY_SLOT_WAIT_MS);
  if (!("atMs" in r)) return false;
  const waitMs = r.atMs - clock.now();
  if (waitMs > 0) await sleep(waitMs);
  return true;
}

export async function attemptDelivery(
  row: DeliveryRow,
  run: DeliveryRun,
  options: { readonly probe?: boolean } = {},
): Promise<{ outcome: DeliveryOutcome; reached: Reached }> {
  const seen: Seen = { eventType: undefined, durationMs: 0, reached: undefined };
  const outcome = await attempt(row, run, seen, options.probe === true);
  run.deps.metrics?.attempted(outcome, seen.eventType ?? "unknown", seen.durationMs);
  return { outcome, reached: seen.reached };
}

/** What an attempt learned on the way, for the metrics and the delivery pass. */
interface Seen {
  eventType: string | undefined;
  durationMs: number;
  reached: Reached;
}

async function attempt(row: DeliveryRow, run: DeliveryRun, seen: Seen, probe: boolean): Promise<DeliveryOutcome> {
  const { deps } = run;
  const { store, clock, config } = deps;
  const attempts = row.attempts + 1;
  const nowMs = clock.now();

  /** This attempt, for the delivery's log (set once a request was made or refused). */
  let record: AttemptRecord | undefined;
  const finish = async (update: Omit<DeliveryUpdate, "attempts" | "lastAttemptAtMs">, counted = true) => {
    // Field by field: in V8 an object spread followed by more fields costs microseconds a call.
    const full: DeliveryUpdate = {
      status: update.status,
      attempts: counted ? attempts : row.attempts,
      nextAttemptAtMs: update.nextAttemptAtMs,
      lastAttemptAtMs: nowMs,
      lastStatusCode: update.lastStatusCode,
      lastError: update.lastError,
      lastResponse: update.lastResponse,
      deliveredAtMs: update.deliveredAtMs,
      attemptLog: record ? [...(row.attemptLog ?? []), record].slice(-ATTEMPT_LOG_SIZE) : undefined,
    };
    return store.updateDelivery(row, deps.owner, full);
  };
  const dead = async (
    reason: string,
    statusCode?: number,
    response?: string,
    counted = true,
  ): Promise<DeliveryOutcome> =>
    (await finish(
      { status: "dead", nextAttemptAtMs: nowMs, lastStatusCode: statusCode, lastError: reason, lastResponse: response },
      counted,
    ))
      ? "dead"
      : "skipped";

  const event = await run.event(row.eventId);
  if (!event) return dead("its event no longer exists", undefined, undefined, false);
  seen.eventType = event.type;

  let url = row.url;
  let secrets: readonly WebhookSecret[];
  let custom: Readonly<Record<string, string>> = {};
  let webhook: WebhookRow | undefined;
  if (isTaskTarget(row.webhookId)) {
    secrets = await deps.defaultSecrets();
  } else {
    webhook = await run.webhook(row.webhookId);
    if (!webhook) return dead("the webhook was deleted", undefined, undefined, false);
    if (!webhook.enabled)
      return dead(`the webhook is disabled: ${webhook.disabledReason ?? "by its owner"}`, undefined, undefined, false);
    // Re-pointed to a bus since the pass looked: back, due now, for the pass's EventBridge path.
    if (webhook.eventBridge !== undefined) {
      await store.releaseDelivery(row, deps.owner, nowMs);
      return "skipped";
    }
    url = webhook.url;
    secrets = webhook.secrets;
    custom = webhook.headers;
  }

  const rate = webhook?.rateLimitPerSecond;
  // Standard (a task's own URLs, and most webhooks): the stored bytes as they are, nothing framed.
  const framed = webhook?.format === undefined ? undefined : frameEvent(webhook.format, event, row.id);
  const body = framed ? framed.body : event.body;
  // The event id's hex is the trace id: every attempt of every delivery of one event is one trace.
  const traceId = event.id.slice("evt_".length);
  let result: AttemptResult;
  try {
    result = await sendSigned(
      {
        url,
        msgId: row.id,
        body,
        contentType: framed?.contentType,
        framing: framed?.headers,
        secrets,
        custom,
        traceId,
      },
      {
        clock,
        sender: deps.sender,
        allowPrivateTargets: config.allowPrivateTargets,
        resolve: deps.resolve,
        quickRetries: deps.quickRetries,
        beforeRetry: rate ? () => retrySlot(run, row.webhookId, rate) : undefined,
      },
    );
  } catch (error) {
    if (!(error instanceof RefusedTargetError)) throw error;
    // No request left: the target is refused by policy, which waiting will not change.
    record = { atMs: nowMs, durationMs: 0, failure: "refused_target", error: error.message };
    // The row (which API callers read) has the kind of address; the operator's log has the address.
    deps.log?.({
      level: "warn",
      msg: "delivery refused: the target is not allowed",
      deliveryId: row.id,
      webhookId: row.webhookId,
      address: error.address,
      error: error.message,
    });
    return dead(`refused target: ${error.message}`);
  }

  seen.durationMs = result.durationMs;
  seen.reached =
    result.statusCode !== undefined
      ? result.durationMs > slowAnswerMs(run.deps.config)
        ? "slow"
        : "answered"
      : result.failure !== undefined && CIRCUIT_FAILURES.has(result.failure)
        ? "unreachable"
        : undefined;
  await recordCircuit(run, row.webhookId, result, probe);
  const made: { -readonly [K in keyof AttemptRecord]: AttemptRecord[K] } = {
    atMs: nowMs,
    durationMs: Math.round(result.durationMs),
  };
  if (result.statusCode !== undefined) made.statusCode = result.statusCode;
  if (result.failure) made.failure = result.failure;
  if (result.error) made.error = result.error;
  if (result.excerpt) made.response = result.excerpt.slice(0, RESPONSE_BYTES_LOGGED);
  record = made;
  deps.log?.({
    msg: "delivery attempt",
    deliveryId: row.id,
    webhookId: row.webhookId,
    eventId: row.eventId,
    workspaceId: event.workspaceId,
    taskId: event.taskId,
    attempt: attempts,
    status: result.statusCode,
    error: result.error,
    ms: Math.round(result.durationMs),
  });
  const status = result.statusCode;
  if (status !== undefined && status >= 200 && status < 300) {
    const written = await finish({
      status: "delivered",
      nextAttemptAtMs: nowMs,
      lastStatusCode: status,
      lastError: undefined,
      lastResponse: result.excerpt,
      deliveredAtMs: nowMs,
    });
    if (webhook?.failingSinceMs !== undefined) await noteEndpoint(run, webhook.id, "success", nowMs);
    return written ? "delivered" : "skipped";
  }

  const reason = describeFailure(result);
  if (status === 410) {
    if (webhook) await noteEndpoint(run, webhook.id, "gone", nowMs);
    return dead("HTTP 410 Gone: the endpoint asked to stop; it is now disabled", status, result.excerpt);
  }
  if (webhook) await noteEndpoint(run, webhook.id, "failure", nowMs);

  const step = attemptDelay(config.retryScheduleMs, attempts + 1, deps.random);
  if (step === undefined) {
    return dead(`${reason}; no attempts left after ${attempts}`, status, result.excerpt);
  }
  const wait =
    (status === 429 || status === 503) && result.retryAfterMs !== undefined
      ? boundedRetryAfter(result.retryAfterMs, step)
      : step;
  const written = await finish({
    status: "pending",
    nextAttemptAtMs: nowMs + wait,
    lastStatusCode: status,
    lastError: reason,
    lastResponse: result.excerpt,
  });
  return written ? "retry" : "skipped";
}

/** The attempt's word to the endpoint's circuit; a store failure there must not undo the attempt's record. */
async function recordCircuit(run: DeliveryRun, endpoint: string, result: AttemptResult, probe: boolean) {
  const { log } = run.deps;
  try {
    const failure = result.statusCode === undefined ? (result.failure ?? "other") : undefined;
    const { state, changed } = await run.circuits.record(endpoint, failure, probe);
    if (!changed) return;
    if (state.openUntilMs !== undefined && !state.probing) {
      log?.({
        level: "warn",
        msg: probe ? "endpoint circuit reopened: the probe failed" : "endpoint circuit opened",
        endpoint,
        consecutiveFailures: state.failures,
        openUntil: new Date(state.openUntilMs).toISOString(),
      });
    } else if (probe && state.openUntilMs === undefined) {
      log?.({ level: "info", msg: "endpoint circuit closed: the probe was answered", endpoint });
    }
  } catch (error) {
    log?.({ level: "warn", msg: "could not record the endpoint's circuit", endpoint, error: describeError(error) });
  }
}
