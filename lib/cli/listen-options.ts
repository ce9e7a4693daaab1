/** What `listen` is told on its command line, checked: where to forward, and which event types. */
import { InputError } from "../errors.js";
import { EVENT_TYPES, isEventType, TERMINAL_EVENT_TYPES } from "../events.js";

/** Host names for which a missing scheme means http:// — a local server, as `stripe listen` assumes. */
const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

export function httpUrl(field: string, text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InputError(`"${text}" is not a URL`, { field });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new InputError("must be an http or https URL", { field });
  return url;
}

/**
 * `--forward-to`: a URL, or a local one without its scheme (`localhost:3000/hook`). Any other host
 * must say http:// or https:// itself: guessing the scheme of a remote server could send events in
 * clear text where TLS was meant.
 */
export function forwardTarget(text: string): URL {
  const field = "--forward-to";
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(text)) return httpUrl(field, text);
  const local = /^:?\d+(\/|$)/.test(text) ? `localhost${text.startsWith(":") ? "" : ":"}${text}` : text;
  let url: URL | undefined;
  try {
    url = new URL(`http://${local}`);
  } catch {
    url = undefined;
  }
  if (url && LOOPBACK_HOSTS.has(url.hostname)) return url;
  throw new InputError(
    `"${text}" has no scheme: http:// is assumed only for localhost, 127.0.0.1 and [::1] ` +
      "(e.g. localhost:3000/hook); write http://… or https://… for any other host",
    { field },
  );
}

export interface EventSelection {
  /** undefined: every type. */
  readonly types: ReadonlySet<string> | undefined;
  /** For the start-up line. */
  readonly label: string;
}

/**
 * Which events are forwarded: by default what a subscription without an `events` filter receives
 * (the terminal types), `--events a,b` (repeatable; `--event` is its older spelling), or
 * `--all-events` for every type, the opt-in ones included.
 */
export function eventSelection(options: { events?: readonly string[]; allEvents?: boolean }): EventSelection {
  const given = (options.events ?? [])
    .flatMap((list) => list.split(","))
    .map((type) => type.trim())
    .filter((type) => type !== "");
  if (options.allEvents && given.length > 0)
    throw new InputError("give --events or --all-events, not both", { field: "--events" });
  if (options.allEvents) return { types: undefined, label: `every event type (${EVENT_TYPES.join(", ")})` };
  const unknown = given.filter((type) => !isEventType(type));
  if (unknown.length > 0) {
    throw new InputError(`"${unknown.join('", "')}" is not an event type; the types are ${EVENT_TYPES.join(", ")}`, {
      field: "--events",
    });
  }
  if (options.events !== undefined && given.length === 0)
    throw new InputError(`name at least one of ${EVENT_TYPES.join(", ")}`, { field: "--events" });
  const types = given.length > 0 ? [...new Set(given)] : TERMINAL_EVENT_TYPES;
  const label =
    given.length > 0
      ? types.join(", ")
      : `${types.join(", ")} (what a subscription gets by default; --all-events for all)`;
  return { types: new Set(types), label };
}
