/**
 * One signed POST to a webhook URL: the SSRF guard, Standard Webhooks signatures made at the moment
 * of sending, and quick retries of connection errors. Shared by every delivery attempt and by the
 * API's test send, so a test event travels exactly as a real one does.
 */
import pRetry from "p-retry";
import type { Clock } from "../clock.js";
import { coerceError, RefusedTargetError } from "../errors.js";
import { randomHex } from "../ids.js";
import { activeSecrets } from "../secrets.js";
import type { WebhookSecret } from "../store/store.js";
import { checkTarget, type Resolver } from "./guard.js";
import type { AttemptResult, WebhookSender } from "./send.js";
import { webhookHeaders } from "./sign.js";

export interface SignedMessage {
  readonly url: string;
  /** The `webhook-id` header: stable across retries of one delivery. */
  readonly msgId: string;
  /** The exact bytes sent and signed: the stored event's body, or a CloudEvents format's (framing.ts). */
  readonly body: string;
  /** A CloudEvents format's content type and `ce-*` headers; absent: standard JSON. */
  readonly contentType?: string | undefined;
  readonly framing?: Readonly<Record<string, string>> | undefined;
  readonly secrets: readonly WebhookSecret[];
  readonly custom?: Readonly<Record<string, string>> | undefined;
  /**
   * W3C trace id (32 lowercase hex) for the `traceparent` header: an event's attempts share one,
   * each with its own span, so a receiver's tracing joins them up. Random when not given.
   */
  readonly traceId?: string | undefined;
}

/** `traceparent` (W3C Trace Context, version 00, sampled): the trace's id, a new span per request. */
export function traceparent(traceId: string | undefined): string {
  const trace = traceId && /^[0-9a-f]{32}$/.test(traceId) && !/^0+$/.test(traceId) ? traceId : randomHex(16);
  return `00-${trace}-${randomHex(8)}-01`;
}

export interface SignedSendDeps {
  readonly clock: Clock;
  readonly sender: WebhookSender;
  readonly allowPrivateTargets: boolean;
  readonly resolve?: Resolver | undefined;
  /** Quick retries of connection errors (p-retry); 0 turns them off. */
  readonly quickRetries?: number | undefined;
  /**
   * Called before each quick retry; false: no more of them. A connection cut after the request was
   * read reached the endpoint, so under a rate limit a retry needs a slot of its own (deliver.ts).
   */
  readonly beforeRetry?: (() => Promise<boolean>) | undefined;
}

/**
 * Quick retries happen only while the tries so far took less than this in all: a connection
 * refused or reset at once is a blip, one after a long wait is not, and another try could double
 * the attempt's length, which the run's budget and a circuit's probe allow for only once.
 */
export const QUICK_RETRY_WITHIN_MS = 1_000;

/**
 * Sends, and says what came back. A target the guard refuses by policy throws RefusedTargetError
 * (no request was made, and waiting will not change that); every other failure, a DNS one
 * included, is a result with `error` set.
 */
export async function sendSigned(message: SignedMessage, deps: SignedSendDeps): Promise<AttemptResult> {
  const { clock } = deps;
  // The lookup counts against the attempt's time: it is part of the attempt (and has no deadline of its own).
  const timeoutMs = deps.sender.timeoutMs as number | undefined;
  const startedAt = performance.now();
  try {
    const target = await checkTarget(message.url, {
      allowPrivate: deps.allowPrivateTargets,
      resolve: deps.resolve,
      timeoutMs,
    });
    const lookupMs = performance.now() - startedAt;
    // Signed per try: the timestamp must be fresh when the receiver checks it.
    const sendOnce = (left?: number) => {
      const nowMs = clock.now();
      const headers = webhookHeaders({
        msgId: message.msgId,
        secrets: activeSecrets(message.secrets, nowMs),
        nowMs,
        body: message.body,
        custom: message.custom ?? {},
        contentType: message.contentType,
        framing: message.framing,
      });
      headers.traceparent = traceparent(message.traceId);
      return deps.sender.send({ target, headers, body: message.body, timeoutMs: left }, () => clock.now());
    };
    // The first try runs outside p-retry, which costs about 18 µs a call (more than signing the
    // body) and is needed only after a connection error. Its result is handed to p-retry as p-retry's
    // own first attempt, so the retry schedule is the same as if p-retry had made it.
    const sent = await sendOnce(timeoutMs === undefined ? undefined : Math.max(1, timeoutMs - lookupMs));
    const first = lookupMs < 1 ? sent : { ...sent, durationMs: sent.durationMs + lookupMs };
    const retries = deps.quickRetries ?? 2;
    let spentMs = first.durationMs;
    const again = (r: AttemptResult) => r.connectionError && spentMs < QUICK_RETRY_WITHIN_MS;
    if (!again(first) || retries === 0) return first;
    let last = first;
    return await pRetry(
      async (attempt) => {
        let r = first;
        if (attempt > 1) {
          if (deps.beforeRetry && !(await deps.beforeRetry())) return last;
          r = await sendOnce();
          last = r;
          spentMs += r.durationMs;
        }
        if (again(r)) throw Object.assign(new Error(r.error), { result: r });
        return r;
      },
      { retries, minTimeout: 100, maxTimeout: 400, randomize: false },
    ).catch((error: { result?: AttemptResult }) => {
      if (error.result) return error.result;
      throw error;
    });
  } catch (error) {
    if (error instanceof RefusedTargetError && !error.retryable) throw error;
    return {
      statusCode: undefined,
      failure: error instanceof RefusedTargetError ? "dns" : "other",
      error: coerceError(error).message,
      connectionError: false,
      excerpt: undefined,
      retryAfterMs: undefined,
      durationMs: performance.now() - startedAt,
    };
  }
}
