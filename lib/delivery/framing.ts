/**
 * How a message is framed for a URL webhook in a CloudEvents format (CloudEvents 1.0 HTTP binding):
 *
 *   cloudevents-structured: the whole event as JSON, `content-type: application/cloudevents+json`;
 *   cloudevents-binary:     the data as the body (`application/json`), the attributes as `ce-*` headers.
 *
 * The standard format has no framing: its body is the stored event's bytes, untouched, so that path
 * costs nothing here. Every format is signed alike, over the exact bytes sent (sign.ts).
 */
import { type CloudEventAttributes, cloudEventAttributes, eventData } from "../cloudevents.js";
import type { EventRow, WebhookFormat } from "../store/store.js";

export interface Framing {
  readonly body: string;
  readonly contentType: string;
  /** The binary mode's `ce-*` headers; set after a webhook's custom headers, so they always win. */
  readonly headers?: Readonly<Record<string, string>> | undefined;
}

export const STRUCTURED_CONTENT_TYPE = "application/cloudevents+json";

/** The prefix of the binary mode's attribute headers, which custom headers may not use on such a webhook. */
export const BINARY_HEADER_PREFIX = "ce-";

/** A CloudEvents format's framing of an event; undefined for the standard format (the stored body as it is). */
export function frameEvent(format: WebhookFormat | undefined, event: EventRow, msgId: string): Framing | undefined {
  if (format === undefined || format === "standard") return undefined;
  return frameCloudEvent(format, cloudEventAttributes(event, msgId), eventData(event));
}

export function frameCloudEvent(
  format: Exclude<WebhookFormat, "standard">,
  attributes: CloudEventAttributes,
  data: unknown,
): Framing {
  if (format === "cloudevents-structured") {
    return { body: JSON.stringify({ ...attributes, data }), contentType: STRUCTURED_CONTENT_TYPE };
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(attributes)) {
    // The datacontenttype travels as the content type itself (HTTP binding §3.1.1).
    if (name !== "datacontenttype") headers[`${BINARY_HEADER_PREFIX}${name}`] = headerValue(value);
  }
  return { body: JSON.stringify(data), contentType: attributes.datacontenttype, headers };
}

/**
 * An attribute as a header value (HTTP binding §3.1.3.2): UTF-8, with every byte outside printable
 * ASCII, and the space, `"` and `%`, percent-encoded. A task id may hold any of them.
 */
export function headerValue(text: string): string {
  // Most values (types, ids, the URN) need nothing: one test, no copy.
  if (!/[^\u0021\u0023-\u0024\u0026-\u007e]/.test(text)) return text;
  let out = "";
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    if (code > 0x20 && code < 0x7f && char !== '"' && char !== "%") out += char;
    else for (const byte of Buffer.from(char, "utf8")) out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}
