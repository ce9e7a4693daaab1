/**
 * An event as CloudEvents 1.0 sees it: the attributes every CloudEvents format carries (the HTTP
 * structured and binary modes, and EventBridge's PutEvents), derived from the stored event and the
 * delivery's message id, so that every attempt, replay and format says the same thing.
 *
 *   id = the message id (`webhook-id`), source = the relay's URN and the workspace,
 *   type = the event type, subject = the task id, time = when the event was made,
 *   data = the standard body's `data` (the stored body is parsed, not rebuilt: its bytes are the truth).
 */
import type { EventRow } from "./store/store.js";

/** The relay's own name as an event source; each workspace is a source under it. */
export const SOURCE_URN = "urn:quanmiao-relay";

export const CLOUDEVENTS_SPEC_VERSION = "1.0";

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export interface CloudEventAttributes {
  readonly specversion: typeof CLOUDEVENTS_SPEC_VERSION;
  readonly id: string;
  readonly source: string;
  readonly type: string;
  readonly subject: string;
  readonly time: string;
  readonly datacontenttype: "application/json";
}

/**
 * The source of a workspace's events. Percent-encoded: a workspace id may hold characters a URI
 * may not (spaces, `#`, non-ASCII), and consumers route on this string.
 */
export function eventSource(workspaceId: string): string {
  // Well-formed first: encodeURIComponent throws on a lone surrogate, and registration refusing them
  // must not be all that stands between a stored row and every attempt of its events failing.
  return `${SOURCE_URN}:workspace:${encodeURIComponent(workspaceId.replace(LONE_SURROGATE, "\uFFFD"))}`;
}

export function cloudEventAttributes(event: EventRow, msgId: string): CloudEventAttributes {
  return {
    specversion: CLOUDEVENTS_SPEC_VERSION,
    id: msgId,
    source: eventSource(event.workspaceId),
    type: event.type,
    subject: event.taskId,
    time: new Date(event.createdAtMs).toISOString(),
    datacontenttype: "application/json",
  };
}

/** The standard body's `data` object (what the CloudEvents formats carry as their data). */
export function eventData(event: Pick<EventRow, "body">): unknown {
  return (JSON.parse(event.body) as { data?: unknown }).data ?? null;
}
