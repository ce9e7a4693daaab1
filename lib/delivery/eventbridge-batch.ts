/**
 * One batched attempt for deliveries to an EventBridge bus: up to 16 rows of one subscription go
 * out as PutEvents requests (split by count and size, put-event.ts), and each row's outcome is
 * written as attemptDelivery writes a URL delivery's: delivered, or the next attempt from the
 * schedule (Retry-After honoured within bounds on 429), or dead after the last, with the attempt
 * log, the endpoint's circuit and health, and the metrics.
 *
 * An entry that failed (`FailedEntryCount > 0`) fails that row only. A refusal of the whole request
 * fails every row in it; an auth refusal (403, or one of Alibaba's auth codes) is recorded with the
 * code and trips the endpoint's circuit at once, so a backlog waits out the cool-down instead of
 * repeating a request that cannot succeed until someone fixes the credentials or the RAM policy.
 */

import type { BusAddress, PutEventsOutcome } from "../eventbridge/client.js";
import { LIMITS, type PutEvent, putEvent, requestBody, requestsOf } from "../eventbridge/put-event.js";
import type { FailureClass } from "../http-failure.js";
import type { EventRow, WebhookRow } from "../store/store.js";
import { ATTEMPT_LOG_SIZE, type AttemptRecord, type DeliveryRow, type DeliveryUpdate } from "../store/store.js";
import { CIRCUIT_FAILURES } from "./circuit.js";
import type { DeliveryOutcome, DeliveryRun, Reached } from "./deliver.js";
import { noteEndpoint } from "./endpoint-health.js";
import { attemptDelay, boundedRetryAfter } from "./schedule.js";

/** Rows one batched attempt takes: PutEvents' most events a request. */
export const EVENTBRIDGE_BATCH = LIMITS.requestEvents;

/** Alibaba's codes for a request it will not take from these credentials, whatever is retried. */
export const AUTH_CODES: ReadonlySet<string> = new Set([
  "InvalidAccessKeyId",
  "InvalidStsAccessKeyId",
  "AccountIdNotExist",
  "AccessDenied",
  "AccessDeniedByPreCheck",
  "SecurityTokenInvalid",
  "ServiceAccessDenied",
  "StsAccessIdExpired",
  "SignatureDoesNotMatch",
]);

const isAuthRefusal = (o: PutEventsOutcome) =>
  o.kind === "refused" && (o.statusCode === 401 || o.statusCode === 403 || AUTH_CODES.has(o.code));

export type EventBridgeWebhook = WebhookRow & { readonly eventBridge: NonNullable<WebhookRow["eventBridge"]> };

export const isEventBridge = (webhook: WebhookRow | undefined): webhook is EventBridgeWebhook =>
  webhook?.eventBridge !== undefined;

/** Where the bus is: its own region and account, else the relay's (FC_REGION, FC_ACCOUNT_ID). */
export function busAddress(
  target: EventBridgeWebhook["eventBridge"],
  defaults: { region?: string | undefined; accountId?: string | undefined },
): BusAddress | string {
  const region = target.region ?? defaults.region;
  const accountId = target.accountId ?? defaults.accountId;
  if (!region || !/^[a-z0-9-]{2,40}$/.test(region))
    return "the bus has no region: register it with one, or set FC_REGION";
  if (!accountId || !/^\d{1,32}$/.test(accountId))
    return "the bus has no account id: register it with one, or set FC_ACCOUNT_ID";
  return { region, accountId };
}

export interface BatchResult {
  readonly outcomes: readonly DeliveryOutcome[];
  readonly reached: Reached;
}

interface Item {
  readonly row: DeliveryRow;
  readonly event: EventRow;
  readonly entry: PutEvent;
}

/** What one row's attempt came to, before it is written. */
interface Verdict {
  readonly ok: boolean;
  readonly statusCode?: number | undefined;
  readonly failure?: string | undefined;
  readonly reason: string;
  readonly response?: string | undefined;
  readonly retryAfterMs?: number | undefined;
  readonly durationMs: number;
}

export async function attemptEventBridgeBatch(
  rows: readonly DeliveryRow[],
  webhook: EventBridgeWebhook,
  run: DeliveryRun,
  options: {
    readonly probe?: boolean;
    /** No request starts at or after this (the pass's time): the rows left go back, as a pass's do. */
    readonly startBeforeMs?: number | undefined;
  } = {},
): Promise<BatchResult> {
  const { deps } = run;
  const nowMs = deps.clock.now();
  const outcomes = new Map<DeliveryRow, DeliveryOutcome>();
  const items: Item[] = [];
  for (const row of rows) {
    const event = await run.event(row.eventId);
    if (!event) {
      outcomes.set(row, await write(run, row, nowMs, deadUncounted("its event no longer exists")));
      continue;
    }
    items.push({ row, event, entry: putEvent(event, row.id, webhook.eventBridge.busName) });
  }

  let reached: Reached;
  const eb = deps.eventBridge;
  const address = eb ? busAddress(webhook.eventBridge, eb) : "EventBridge publishing is not set up in this process";
  const verdicts = new Map<Item, Verdict>();
  let answered = false;
  let tripped = false;
  let unanswered: FailureClass | undefined;
  if (typeof address === "string" || !eb) {
    for (const item of items)
      verdicts.set(item, { ok: false, failure: "other", reason: `EventBridge: ${address}`, durationMs: 0 });
  } else {
    let stopped = false;
    for (const request of requestsOf(items.map((item) => ({ item, bytes: item.entry.bytes })))) {
      const batch = request.map((r) => r.item);
      // After a refused request or no answer the rest would meet the same: they wait with those.
      // Nor does a second request start past the pass's time: its rows' leases are meant to end
      // soon after, and another run would then publish them again.
      if (stopped || (verdicts.size > 0 && deps.clock.now() >= (options.startBeforeMs ?? Number.POSITIVE_INFINITY)))
        break;
      const outcome = await eb.publisher.putEvents(address, requestBody(batch.map((i) => i.entry)));
      deps.log?.({
        msg: "eventbridge publish",
        webhookId: webhook.id,
        events: batch.length,
        status: outcome.kind === "failed" ? undefined : outcome.statusCode,
        requestId: outcome.kind === "failed" ? undefined : outcome.requestId,
        error: outcome.kind === "answered" ? undefined : outcome.kind === "refused" ? outcome.code : outcome.error,
        ms: Math.round(outcome.durationMs),
      });
      stopped = outcome.kind !== "answered";
      if (outcome.kind === "failed") unanswered = outcome.failure;
      else if (isAuthRefusal(outcome)) tripped = true;
      else answered = true;
      batch.forEach((item, i) => {
        verdicts.set(item, verdictOf(outcome, i));
      });
    }
  }

  if (eb && typeof address !== "string") {
    reached =
      answered || tripped
        ? "answered"
        : unanswered !== undefined && CIRCUIT_FAILURES.has(unanswered)
          ? "unreachable"
          : undefined;
    await recordCircuit(run, webhook.id, { answered, tripped, unanswered }, options.probe === true);
  }
  const anyDelivered = [...verdicts.values()].some((v) => v.ok);
  if (anyDelivered && webhook.failingSinceMs !== undefined) await noteEndpoint(run, webhook.id, "success", nowMs);
  else if (!anyDelivered && verdicts.size > 0) await noteEndpoint(run, webhook.id, "failure", nowMs);

  const plans = new Map<Item, Plan>();
  for (const [item, verdict] of verdicts) plans.set(item, planOf(run, item.row, verdict, nowMs));
  // Rows not sent wait as long as the ones that were.
  const untriedDueAtMs = Math.max(nowMs, ...[...plans.values()].map((p) => p.update.nextAttemptAtMs));
  for (const item of items) {
    const plan = plans.get(item);
    const verdict = verdicts.get(item);
    const outcome = plan ? await write(run, item.row, nowMs, plan) : await giveBack(run, item.row, untriedDueAtMs);
    outcomes.set(item.row, outcome);
    if (verdict) deps.metrics?.attempted(outcome, item.event.type, verdict.durationMs);
  }
  return { outcomes: rows.map((row) => outcomes.get(row) ?? "skipped"), reached };
}

function verdictOf(outcome: PutEventsOutcome, index: number): Verdict {
  if (outcome.kind === "failed")
    return { ok: false, failure: outcome.failure, reason: outcome.error, durationMs: outcome.durationMs };
  if (outcome.kind === "refused") {
    const reason = `EventBridge ${outcome.code}: ${outcome.message || `HTTP ${outcome.statusCode}`}`;
    return {
      ok: false,
      statusCode: outcome.statusCode,
      reason,
      response: outcome.excerpt,
      retryAfterMs: outcome.statusCode === 429 ? outcome.retryAfterMs : undefined,
      durationMs: outcome.durationMs,
    };
  }
  const entry = outcome.entries[index];
  const response = JSON.stringify({ RequestId: outcome.requestId, EventId: entry?.eventId, TraceId: entry?.traceId });
  if (entry && entry.errorCode === undefined)
    return { ok: true, statusCode: outcome.statusCode, reason: "", response, durationMs: outcome.durationMs };
  // The request was taken, this entry was not: no status of its own, so it reads as failing.
  return {
    ok: false,
    failure: "entry_failed",
    reason: entry
      ? `EventBridge ${entry.errorCode}: ${entry.errorMessage ?? "the entry failed"}`
      : "EventBridge answered without a result for this entry",
    response,
    durationMs: outcome.durationMs,
  };
}

type Plan = {
  readonly update: Omit<DeliveryUpdate, "attempts" | "lastAttemptAtMs" | "attemptLog">;
  readonly counted: boolean;
  readonly record?: AttemptRecord | undefined;
};

const deadUncounted = (reason: string): Plan => ({
  update: {
    status: "dead",
    nextAttemptAtMs: 0,
    lastStatusCode: undefined,
    lastError: reason,
    lastResponse: undefined,
    deliveredAtMs: undefined,
  },
  counted: false,
});

/** The row's next state from its verdict: delivered, the schedule's next attempt, or dead after the last. */
function planOf(run: DeliveryRun, row: DeliveryRow, v: Verdict, nowMs: number): Plan {
  const record: AttemptRecord = {
    atMs: nowMs,
    durationMs: Math.round(v.durationMs),
    ...(v.statusCode !== undefined && v.failure === undefined ? { statusCode: v.statusCode } : {}),
    ...(v.failure ? { failure: v.failure } : {}),
    ...(v.ok ? {} : { error: v.reason }),
    ...(v.response ? { response: v.response.slice(0, 256) } : {}),
  };
  const lastStatusCode = v.failure === undefined ? v.statusCode : undefined;
  if (v.ok) {
    return {
      update: {
        status: "delivered",
        nextAttemptAtMs: nowMs,
        lastStatusCode,
        lastError: undefined,
        lastResponse: v.response,
        deliveredAtMs: nowMs,
      },
      counted: true,
      record,
    };
  }
  const attempts = row.attempts + 1;
  const { config, random } = run.deps;
  const step = attemptDelay(config.retryScheduleMs, attempts + 1, random);
  if (step === undefined) {
    return {
      update: {
        status: "dead",
        nextAttemptAtMs: nowMs,
        lastStatusCode,
        lastError: `${v.reason}; no attempts left after ${attempts}`,
        lastResponse: v.response,
        deliveredAtMs: undefined,
      },
      counted: true,
      record,
    };
  }
  const wait = v.retryAfterMs !== undefined ? boundedRetryAfter(v.retryAfterMs, step) : step;
  return {
    update: {
      status: "pending",
      nextAttemptAtMs: nowMs + wait,
      lastStatusCode,
      lastError: v.reason,
      lastResponse: v.response,
      deliveredAtMs: undefined,
    },
    counted: true,
    record,
  };
}

async function write(run: DeliveryRun, row: DeliveryRow, nowMs: number, plan: Plan): Promise<DeliveryOutcome> {
  const { update, counted, record } = plan;
  const full: DeliveryUpdate = {
    ...update,
    attempts: counted ? row.attempts + 1 : row.attempts,
    lastAttemptAtMs: nowMs,
    attemptLog: record ? [...(row.attemptLog ?? []), record].slice(-ATTEMPT_LOG_SIZE) : undefined,
  };
  if (!(await run.deps.store.updateDelivery(row, run.deps.owner, full))) return "skipped";
  return update.status === "delivered" ? "delivered" : update.status === "dead" ? "dead" : "retry";
}

/** A row not sent (an earlier request of its batch was refused or unanswered): back, unattempted. */
async function giveBack(run: DeliveryRun, row: DeliveryRow, dueAtMs: number): Promise<DeliveryOutcome> {
  await run.deps.store.releaseDelivery(row, run.deps.owner, dueAtMs);
  return "skipped";
}

async function recordCircuit(
  run: DeliveryRun,
  endpoint: string,
  seen: { answered: boolean; tripped: boolean; unanswered: FailureClass | undefined },
  probe: boolean,
): Promise<void> {
  const { log } = run.deps;
  try {
    const { state, changed } = seen.tripped
      ? await run.circuits.trip(endpoint, probe)
      : await run.circuits.record(endpoint, seen.answered ? undefined : (seen.unanswered ?? "other"), probe);
    if (changed && state.openUntilMs !== undefined && !state.probing) {
      log?.({
        level: "warn",
        msg: seen.tripped ? "endpoint circuit opened: EventBridge refused the credentials" : "endpoint circuit opened",
        endpoint,
        consecutiveFailures: state.failures,
        openUntil: new Date(state.openUntilMs).toISOString(),
      });
    }
  } catch (error) {
    log?.({ level: "warn", msg: "could not record the endpoint's circuit", endpoint, error: String(error) });
  }
}
