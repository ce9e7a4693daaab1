/** Managing webhook subscriptions: create, enable/disable, rotate secrets, delete. */
import { randomBytes } from "node:crypto";
import type { Clock } from "./clock.js";
import { CLOSED, circuitKey, isOpen, parseCircuit } from "./delivery/circuit.js";
import { MIN_RATE_LIMIT_PER_SECOND } from "./delivery/rate.js";
import { isConnectionHeader, isReservedHeader, isSendableHeaderValue } from "./delivery/sign.js";
import { InputError, InvalidValueError, NotFoundError } from "./errors.js";
import { EVENT_TYPES, isEventType } from "./events.js";
import { newWebhookId, type RandomBytes } from "./ids.js";
import { checkText, shownValue } from "./input.js";
import { newSecret, rotate } from "./secrets.js";
import type { EventBridgeTarget, Store, WebhookRow } from "./store/store.js";
import { checkWorkspaceField, type RegistrationDeps } from "./tasks.js";
import { type TargetFields, webhookTarget } from "./webhook-targets.js";

export interface CreateWebhookRequest {
  /** The endpoint; or `eventBridge` instead (exactly one of the two). */
  readonly url?: string;
  /** How a URL webhook's events are framed: `standard` (the default) or a CloudEvents format. */
  readonly format?: string;
  /** An EventBridge bus to publish to instead of a URL; region and account default to the relay's own. */
  readonly eventBridge?: EventBridgeTarget;
  readonly events?: readonly string[];
  readonly workspaceId?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Requests per second the endpoint accepts (0.5: one every 2 s); absent: no limit. */
  readonly rateLimitPerSecond?: number;
}

export type WebhookDeps = Pick<
  RegistrationDeps,
  "store" | "clock" | "allowPrivateTargets" | "resolve" | "lookupTimeoutMs" | "ownCloud"
> & {
  readonly random?: RandomBytes;
};

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/;

/**
 * The highest rate limit a webhook may set: at most 100 requests in flight to one endpoint
 * (RELAY_ENDPOINT_CONCURRENCY's ceiling) would each need to finish in 10 ms to reach it, so a
 * higher limit could never bind. Bounded at all so that a slip (1e9, say) is refused rather than
 * stored as a limit that means nothing.
 */
export const MAX_RATE_LIMIT_PER_SECOND = 10_000;
export { MIN_RATE_LIMIT_PER_SECOND };

/**
 * A rate limit as given (API body, CLI option, library call), checked alike for all of them. JSON
 * cannot carry NaN, but it can carry 1e400, which parses as Infinity.
 */
export function checkRateLimit(value: unknown, field = "rateLimitPerSecond"): number {
  if (
    typeof value !== "number" ||
    !Number.isFinite(value) ||
    value < MIN_RATE_LIMIT_PER_SECOND ||
    value > MAX_RATE_LIMIT_PER_SECOND
  ) {
    throw new InvalidValueError(
      `must be a number of requests per second from ${MIN_RATE_LIMIT_PER_SECOND} (one every 10,000 s) to ${MAX_RATE_LIMIT_PER_SECOND} (0.5: one every 2 s); got ${shownValue(value)}`,
      { field },
    );
  }
  return value;
}

function checkEvents(events: unknown): string[] | undefined {
  if (events === undefined) return undefined;
  if (!Array.isArray(events) || events.length === 0)
    throw new InputError("must be a non-empty list", { field: "events" });
  for (const e of events) {
    if (typeof e !== "string" || !isEventType(e)) {
      throw new InputError(`"${String(e)}" is not an event type (${EVENT_TYPES.join(", ")})`, { field: "events" });
    }
  }
  return [...new Set(events as string[])];
}

function checkHeaders(headers: unknown): Record<string, string> {
  if (headers === undefined) return {};
  if (typeof headers !== "object" || headers === null || Array.isArray(headers)) {
    throw new InputError("must be an object of header names to values", { field: "headers" });
  }
  const entries = Object.entries(headers);
  if (entries.length > 20) throw new InputError("at most 20 headers", { field: "headers" });
  for (const [name, value] of entries) {
    if (!HEADER_NAME.test(name)) throw new InputError(`"${name}" is not a valid header name`, { field: "headers" });
    // Refused at registration: once stored, such a header made every delivery to the endpoint fail.
    if (isConnectionHeader(name)) {
      throw new InvalidValueError(
        `"${name}" is a hop-by-hop/connection header that the relay's HTTP client sets itself; it cannot be sent`,
        { field: "headers" },
      );
    }
    if (isReservedHeader(name))
      throw new InputError(`"${name}" is set by the relay and cannot be overridden`, { field: "headers" });
    if (typeof value === "string") checkText("headers", value);
    if (typeof value !== "string" || value.length > 1024) {
      throw new InputError(`the value of "${name}" must be text of at most 1024 characters`, { field: "headers" });
    }
    // Refused here: stored, it made every attempt to the endpoint fail in the HTTP client.
    if (!isSendableHeaderValue(value)) {
      throw new InvalidValueError(
        `the value of "${name}" holds characters a header cannot carry: only visible ASCII, spaces and tabs (percent-encode or base64 other text)`,
        { field: "headers" },
      );
    }
  }
  return Object.fromEntries(entries) as Record<string, string>;
}

export async function createWebhook(
  deps: WebhookDeps,
  request: CreateWebhookRequest,
  fields?: TargetFields,
): Promise<{ webhook: WebhookRow; secret: string }> {
  // Local checks first: the URL check may resolve the host name.
  const events = checkEvents(request.events);
  const headers = checkHeaders(request.headers);
  const rateLimitPerSecond =
    request.rateLimitPerSecond === undefined ? undefined : checkRateLimit(request.rateLimitPerSecond);
  let workspaceId: string | undefined;
  if (request.workspaceId !== undefined) workspaceId = checkWorkspaceField("workspaceId", request.workspaceId);
  const target = await webhookTarget(
    deps,
    { url: request.url, format: request.format, eventBridge: request.eventBridge },
    headers,
    undefined,
    fields,
  );
  const random = deps.random ?? randomBytes;
  const secret = newSecret(random);
  const webhook: WebhookRow = {
    id: newWebhookId(random),
    url: target.url,
    secrets: [{ secret }],
    events,
    workspaceId,
    headers,
    enabled: true,
    disabledReason: undefined,
    failingSinceMs: undefined,
    rateLimitPerSecond,
    format: target.format,
    eventBridge: target.eventBridge,
    createdAtMs: deps.clock.now(),
  };
  await deps.store.createWebhook(webhook);
  return { webhook, secret };
}

async function mustGet(store: Store, id: string): Promise<WebhookRow> {
  const webhook = await store.getWebhook(id);
  if (!webhook) throw new NotFoundError(`no webhook with id ${id}`);
  return webhook;
}

export async function setWebhookEnabled(
  store: Store,
  id: string,
  enabled: boolean,
  reason?: string,
): Promise<WebhookRow> {
  const current = await mustGet(store, id);
  const next: WebhookRow = enabled
    ? { ...current, enabled: true, disabledReason: undefined, failingSinceMs: undefined }
    : { ...current, enabled: false, disabledReason: reason ?? "disabled by its owner" };
  await store.updateWebhook(next);
  if (enabled) await closeCircuit(store, id);
  return next;
}

/**
 * Enabling an endpoint is its owner saying "try it now": its circuit closes, so deliveries go at
 * once instead of after the cool-down (a still-dead endpoint opens it again after N failures).
 */
/** Closes the endpoint's circuit; `forget`: its count of failures too (a new destination). */
async function closeCircuit(store: Store, id: string, forget = false): Promise<void> {
  for (let tries = 0; tries < 3; tries++) {
    const raw = await store.getSetting(circuitKey(id));
    if (raw === undefined || (!forget && !isOpen(parseCircuit(raw))) || raw === JSON.stringify(CLOSED)) return;
    if (await store.compareAndSetSetting(circuitKey(id), raw, JSON.stringify(CLOSED))) return;
  }
}

/** A new secret; the old one keeps signing for 24 h, so both signatures are sent meanwhile. */
export async function rotateWebhookSecret(
  deps: { store: Store; clock: Clock; random?: RandomBytes },
  id: string,
): Promise<{ webhook: WebhookRow; secret: string }> {
  const current = await mustGet(deps.store, id);
  const secret = newSecret(deps.random ?? randomBytes);
  const webhook = { ...current, secrets: rotate(current.secrets, secret, deps.clock.now()) };
  await deps.store.updateWebhook(webhook);
  return { webhook, secret };
}

export async function deleteWebhook(store: Store, id: string): Promise<void> {
  if (!(await store.deleteWebhook(id))) throw new NotFoundError(`no webhook with id ${id}`);
}

export interface PatchWebhookRequest {
  /** A new endpoint; on an EventBridge subscription it becomes a URL webhook. */
  readonly url?: string;
  /** null: back to `standard`. */
  readonly format?: string | null;
  /** A new bus; on a URL webhook it becomes an EventBridge subscription. */
  readonly eventBridge?: EventBridgeTarget;
  /** null: back to the default (the four terminal types). */
  readonly events?: readonly string[] | null;
  /** null: every workspace. */
  readonly workspaceId?: string | null;
  readonly headers?: Readonly<Record<string, string>>;
  /** null: no limit. */
  readonly rateLimitPerSecond?: number | null;
  readonly enabled?: boolean;
}

/** Changes some fields of a webhook, validated as at creation; a new URL is checked by the guard. */
export async function patchWebhook(deps: WebhookDeps, id: string, patch: PatchWebhookRequest): Promise<WebhookRow> {
  const current = await mustGet(deps.store, id);
  const events =
    patch.events === undefined ? current.events : patch.events === null ? undefined : checkEvents(patch.events);
  const headers = patch.headers === undefined ? current.headers : checkHeaders(patch.headers);
  const rateLimitPerSecond =
    patch.rateLimitPerSecond === undefined
      ? current.rateLimitPerSecond
      : patch.rateLimitPerSecond === null
        ? undefined
        : checkRateLimit(patch.rateLimitPerSecond);
  let workspaceId = current.workspaceId;
  if (patch.workspaceId === null) workspaceId = undefined;
  else if (patch.workspaceId !== undefined) workspaceId = checkWorkspaceField("workspaceId", patch.workspaceId);
  const target = await webhookTarget(
    deps,
    { url: patch.url, format: patch.format, eventBridge: patch.eventBridge },
    headers,
    current,
  );
  let next: WebhookRow = { ...current, ...target, events, headers, workspaceId, rateLimitPerSecond };
  // A new destination starts with a clean record: a bus refused for its credentials must not hold a
  // new URL shut, nor a URL failing for days get its new bus disabled at the first failure.
  const moved = next.url !== current.url;
  if (moved) next = { ...next, failingSinceMs: undefined };
  if (patch.enabled === true) next = { ...next, enabled: true, disabledReason: undefined, failingSinceMs: undefined };
  if (patch.enabled === false) next = { ...next, enabled: false, disabledReason: "disabled by its owner" };
  if (!(await deps.store.updateWebhook(next))) throw new NotFoundError(`no webhook with id ${id}`);
  if (patch.enabled === true || moved) await closeCircuit(deps.store, id, moved);
  return next;
}
