/**
 * PutEvents on EventBridge's data plane: `POST /openapi/putEvents` on
 * `<account>.eventbridge.<region>.aliyuncs.com`, a JSON array of CloudEvents, signed with the
 * relay's own credentials (sign.ts; on FC the function role's), over one keep-alive undici agent,
 * every request under a deadline. The answer comes back as data, never thrown: an entry list (each
 * entry answers the event at its index), a refusal (HTTP status and Alibaba's error code), or no
 * answer (timeout, connection).
 */
import { randomUUID } from "node:crypto";
import { Agent, type Dispatcher } from "undici";
import type { Clock } from "../clock.js";
import { withDeadline } from "../deadline.js";
import { coerceError, describeError } from "../errors.js";
import { type FailureClass, failureClassOf, retryAfterMs } from "../http-failure.js";
import type { CredentialsProvider } from "../quanmiao/credentials.js";
import { USER_AGENT } from "../version.js";
import { authorization, httpDate } from "./sign.js";

export const PUT_EVENTS_PATH = "/openapi/putEvents";
export const EVENTBRIDGE_VERSION = "2015-06-06";
export const BATCH_CONTENT_TYPE = "application/cloudevents-batch+json; charset=utf-8";

/** Where a bus lives. */
export interface BusAddress {
  readonly region: string;
  readonly accountId: string;
}

/** The data-plane origin of an account's buses in a region. */
export const defaultEndpoint = ({ accountId, region }: BusAddress) =>
  `https://${accountId}.eventbridge.${region}.aliyuncs.com`;

export interface EntryResult {
  readonly eventId: string | undefined;
  readonly traceId: string | undefined;
  /** Set when this entry failed (FailedEntryCount counts these). */
  readonly errorCode: string | undefined;
  readonly errorMessage: string | undefined;
}

export type PutEventsOutcome =
  | {
      readonly kind: "answered";
      readonly statusCode: number;
      readonly requestId: string | undefined;
      readonly entries: readonly EntryResult[];
      readonly durationMs: number;
    }
  | {
      /** An HTTP answer other than 2xx: the whole request failed. */
      readonly kind: "refused";
      readonly statusCode: number;
      readonly code: string;
      readonly message: string;
      readonly requestId: string | undefined;
      readonly retryAfterMs: number | undefined;
      readonly excerpt: string;
      readonly durationMs: number;
    }
  | {
      readonly kind: "failed";
      /** No HTTP answer: the delivery failure classes (delivery/send.ts) a circuit understands. */
      readonly failure: Exclude<FailureClass, "refused_target">;
      readonly error: string;
      readonly durationMs: number;
    };

export interface EventBridgePublisher {
  putEvents(address: BusAddress, body: string): Promise<PutEventsOutcome>;
  close(): Promise<void>;
}

export interface PublisherOptions {
  readonly credentials: CredentialsProvider;
  /** Origin for a bus address; by default Alibaba's (RELAY_EVENTBRIDGE_ENDPOINT replaces it). */
  readonly endpoint?: ((address: BusAddress) => string) | undefined;
  readonly timeoutMs: number;
  readonly connectTimeoutMs?: number | undefined;
  readonly clock: Clock;
  readonly nonce?: (() => string) | undefined;
  /** Replaces the agent (tests); the publisher then does not close it. */
  readonly dispatcher?: Dispatcher | undefined;
}

/** Answers are a few hundred bytes a entry; anything past this is not read. */
const ANSWER_LIMIT_BYTES = 256 * 1024;
const EXCERPT_BYTES = 4096;
export function createEventBridgePublisher(options: PublisherOptions): EventBridgePublisher {
  const { clock, timeoutMs } = options;
  const endpoint = options.endpoint ?? defaultEndpoint;
  const nonce = options.nonce ?? (() => randomUUID());
  let agent: Agent | undefined;
  const dispatcher = (): Dispatcher => {
    if (options.dispatcher) return options.dispatcher;
    // Made on first use: most relays publish to no bus at all.
    agent ??= new Agent({
      connect: { timeout: options.connectTimeoutMs ?? Math.min(timeoutMs, 5_000) },
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    return agent;
  };

  return {
    async putEvents(address, body) {
      const started = performance.now();
      const elapsed = () => performance.now() - started;
      let origin: URL;
      let key: Awaited<ReturnType<CredentialsProvider>>;
      try {
        origin = new URL(endpoint(address));
        key = await options.credentials();
      } catch (error) {
        return {
          kind: "failed",
          failure: "other",
          error: `EventBridge request not made: ${describeError(error)}`,
          durationMs: elapsed(),
        };
      }
      const headers: Record<string, string> = {
        date: httpDate(clock.now()),
        host: origin.host,
        accept: "application/json",
        "content-type": BATCH_CONTENT_TYPE,
        "x-acs-signature-nonce": nonce(),
        "x-acs-signature-method": "HMAC-SHA1",
        "x-acs-signature-version": "1.0",
        "x-eventbridge-version": EVENTBRIDGE_VERSION,
      };
      if (key.securityToken) {
        headers["x-acs-accesskey-id"] = key.accessKeyId;
        headers["x-acs-security-token"] = key.securityToken;
      }
      headers.authorization = authorization({ method: "POST", pathname: PUT_EVENTS_PATH, headers }, key);
      headers["user-agent"] = USER_AGENT;
      try {
        return await withDeadline(timeoutMs, async (signal) => {
          const response = await dispatcher().request({
            origin: origin.origin,
            method: "POST",
            path: PUT_EVENTS_PATH,
            headers,
            body,
            signal,
          });
          const text = await readAnswer(response.body);
          return interpret(response.statusCode, response.headers, text, elapsed(), clock.now());
        });
      } catch (error) {
        return { kind: "failed", ...classify(error), durationMs: elapsed() };
      }
    },
    async close() {
      await agent?.close();
    },
  };
}

async function readAnswer(body: Dispatcher.ResponseData["body"]): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk as Buffer);
    size += (chunk as Buffer).length;
    if (size > ANSWER_LIMIT_BYTES) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).toString("utf8");
}

const text = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);

function interpret(
  statusCode: number,
  headers: Record<string, string | string[] | undefined>,
  raw: string,
  durationMs: number,
  nowMs: number,
): PutEventsOutcome {
  // A gateway refusing a signature may echo the string it signed, STS token included: the answer is
  // kept on deliveries that the API, console and CLI show, so the token goes before anything reads it.
  const body = withoutToken(raw);
  let json: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(body);
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) json = parsed as Record<string, unknown>;
  } catch {
    // Not JSON (a gateway's page): the status says what happened.
  }
  const excerpt = body.slice(0, EXCERPT_BYTES);
  if (statusCode >= 200 && statusCode < 300 && Array.isArray(json.EntryList)) {
    const entries = (json.EntryList as unknown[]).map((e) => {
      const entry = (e && typeof e === "object" ? e : {}) as Record<string, unknown>;
      return {
        eventId: text(entry.EventId),
        traceId: text(entry.TraceId),
        errorCode: text(entry.ErrorCode),
        errorMessage: text(entry.ErrorMessage),
      };
    });
    return { kind: "answered", statusCode, requestId: text(json.RequestId), entries, durationMs };
  }
  const ok = statusCode >= 200 && statusCode < 300;
  return {
    kind: "refused",
    statusCode,
    code: text(json.code) ?? text(json.Code) ?? (ok ? "MalformedAnswer" : `HTTP${statusCode}`),
    message: text(json.message) ?? text(json.Message) ?? (ok ? "the answer has no EntryList" : ""),
    requestId: text(json.requestId) ?? text(json.RequestId),
    retryAfterMs: retryAfterMs(headers["retry-after"], nowMs),
    excerpt,
    durationMs,
  };
}

function classify(error: unknown): { failure: Exclude<FailureClass, "refused_target">; error: string } {
  const failure = failureClassOf(error);
  const code = (error as { code?: unknown } | null)?.code;
  const message = coerceError(error).message;
  if (failure === "timeout") return { failure, error: `EventBridge did not answer in time (${message})` };
  if (failure === "connection") return { failure, error: `EventBridge connection failed: ${String(code)}` };
  if (failure === "dns")
    return { failure, error: `EventBridge's host does not resolve (${message}): check the bus's region` };
  return { failure, error: `EventBridge request failed: ${message}` };
}

/** The value of an `x-acs-security-token` line or field, wherever an answer quotes one. */
const TOKEN = /(x-acs-security-token["']?\s*[:=]\s*["']?)[^\s"'\\]+/gi;

export function withoutToken(text: string): string {
  return text.replace(TOKEN, "$1[redacted]");
}
