/**
 * A stored event as one PutEvents entry: a CloudEvent (lib/cloudevents.ts) with the bus named in
 * `aliyuneventbusname`, made to fit EventBridge's limits without ever failing:
 *
 * - `id` ≤ 128 characters, a letter or digit first, then letters, digits and hyphens. The message
 *   id `msg_<hex>` becomes `msg-<hex>`: stable across attempts and replays, it is the consumer's
 *   dedupe key, as `webhook-id` is for URLs. Any other character becomes `-`.
 * - `source` ≤ 128, `subject` ≤ 512, `type` ≤ 64: a longer one (a long workspace or task id) is cut
 *   and ends in `~` and 8 hex characters of its SHA-256, so it stays distinct and the same every
 *   time; the whole values are in `data` (workspaceId, taskId) in any case.
 * - One event ≤ 64 KiB: a larger one (a video's results can be) is sent thin, its `data` the ids,
 *   the status and the API path of the whole event (`GET /v1/events/<event id>`), `thin: true`.
 */
import { createHash } from "node:crypto";
import { cloudEventAttributes, eventData } from "../cloudevents.js";
import type { EventRow } from "../store/store.js";

export const LIMITS = {
  /** EventBridge refuses a larger event (measured as its JSON, in UTF-8 bytes). */
  eventBytes: 64 * 1024,
  /** Events and bytes (the JSON array) one PutEvents request carries at most. */
  requestEvents: 16,
  requestBytes: 256 * 1024,
  id: 128,
  source: 128,
  subject: 512,
  type: 64,
} as const;

export interface PutEvent {
  /** The entry's JSON, as it goes into the request's array. */
  readonly json: string;
  readonly bytes: number;
  readonly id: string;
  /** Sent thin: the event was over LIMITS.eventBytes. */
  readonly thin: boolean;
}

/** The EventBridge event id for a message id (stable: consumers dedupe on it). */
export function eventBridgeId(msgId: string): string {
  let id = msgId.replace(/[^A-Za-z0-9-]/g, "-");
  if (!/^[A-Za-z0-9]/.test(id)) id = `m${id}`;
  return cutToFit(id, LIMITS.id, "-");
}

/** `text` if it fits in `max`, else cut with a marker and a hash of the whole, deterministically. */
export function cutToFit(text: string, max: number, marker = "~"): string {
  if (text.length <= max) return text;
  const hash = createHash("sha256").update(text).digest("hex").slice(0, 8);
  return `${text.slice(0, max - 1 - hash.length)}${marker}${hash}`;
}

/** The path of the whole event in the relay's API, for a thin event's consumer. */
export const eventHref = (eventId: string) => `/v1/events/${encodeURIComponent(eventId)}`;

export function putEvent(event: EventRow, msgId: string, busName: string): PutEvent {
  const ce = cloudEventAttributes(event, msgId);
  const head = {
    specversion: ce.specversion,
    id: eventBridgeId(msgId),
    source: cutToFit(ce.source, LIMITS.source),
    type: cutToFit(ce.type, LIMITS.type),
    subject: cutToFit(ce.subject, LIMITS.subject),
    time: ce.time,
    datacontenttype: ce.datacontenttype,
    aliyuneventbusname: busName,
  };
  const data = eventData(event);
  const json = JSON.stringify({ ...head, data });
  const bytes = Buffer.byteLength(json);
  if (bytes <= LIMITS.eventBytes) return { json, bytes, id: head.id, thin: false };
  const thin = JSON.stringify({ ...head, data: thinData(event, data) });
  return { json: thin, bytes: Buffer.byteLength(thin), id: head.id, thin: true };
}

function thinData(event: EventRow, data: unknown) {
  const status = (data as { taskStatus?: unknown } | null)?.taskStatus;
  return {
    workspaceId: event.workspaceId,
    taskId: event.taskId,
    taskStatus: typeof status === "string" ? status : null,
    eventId: event.id,
    type: event.type,
    thin: true,
    href: eventHref(event.id),
  };
}

/**
 * Entries split into requests in order: at most LIMITS.requestEvents each, and at most
 * LIMITS.requestBytes of JSON array (`[`, the entries, the commas, `]`). Each entry fits alone.
 */
export function requestsOf<T extends { readonly bytes: number }>(entries: readonly T[]): T[][] {
  const requests: T[][] = [];
  let current: T[] = [];
  let size = 2;
  for (const entry of entries) {
    const added = entry.bytes + (current.length > 0 ? 1 : 0);
    if (current.length > 0 && (current.length >= LIMITS.requestEvents || size + added > LIMITS.requestBytes)) {
      requests.push(current);
      current = [];
      size = 2;
    }
    size += entry.bytes + (current.length > 0 ? 1 : 0);
    current.push(entry);
  }
  if (current.length > 0) requests.push(current);
  return requests;
}

export const requestBody = (entries: readonly PutEvent[]) => `[${entries.map((e) => e.json).join(",")}]`;
