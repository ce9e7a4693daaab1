/**
 * What a webhook receiver in a CloudEvents format makes of a request, read by the `cloudevents`
 * SDK (a peer written by others): HTTP.toEvent, for the structured and the binary modes alike.
 */
import type { IncomingHttpHeaders } from "node:http";
import { type CloudEvent, HTTP } from "cloudevents";

export function receivedCloudEvent(request: { headers: IncomingHttpHeaders; body: string }): CloudEvent<unknown> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (typeof value === "string") headers[name] = value;
  }
  const event = HTTP.toEvent({ headers, body: request.body });
  if (Array.isArray(event)) throw new Error("a batch arrived, not one event");
  return event as CloudEvent<unknown>;
}

/** The attributes a received event carries, as plain data (the SDK's event validates them as it is made). */
export function attributesOf(event: CloudEvent<unknown>) {
  return {
    specversion: event.specversion,
    id: event.id,
    source: event.source,
    type: event.type,
    subject: event.subject,
    time: event.time,
    datacontenttype: event.datacontenttype,
    data: event.data,
  };
}
