/**
 * `listen --forward-to URL`: follows a running relay's events (GET /v1/events) and POSTs each one,
 * signed per Standard Webhooks, to a local URL — as `stripe listen` does — so a subscriber can
 * build its endpoint on localhost without a tunnel, against `npm start` or an FC deployment alike.
 * The secret is the same on every start for a relay (listen-secret.ts); only events created after
 * it starts are sent, by default of the types a subscription gets without a filter.
 */
import { request } from "undici";
import { loadConfig } from "../config.js";
import { withDeadline } from "../deadline.js";
import { webhookHeaders } from "../delivery/sign.js";
import { traceparent } from "../delivery/signed-send.js";
import { parseDuration } from "../duration.js";
import { coerceError, InputError } from "../errors.js";
import { deliveryId } from "../ids.js";
import { escapeUnsafe } from "../input.js";
import type { CliIo } from "./io.js";
import { eventSelection, forwardTarget, httpUrl } from "./listen-options.js";
import { listenSecret, SECRET_PATTERN } from "./listen-secret.js";
import { forwardFailure, getFromRelay, RelayAnswerError } from "./relay-http.js";
import { untilSignal } from "./signals.js";

/** Events are read again this far back, so one created late by a skewed clock is not missed. */
const LOOKBACK_MS = 10_000;
/** Before its start, what it has seen marks the tail: nothing older is forwarded. */
const PRIME_MS = 60_000;
const TIMEOUT_MS = 15_000;
/** What is left of an answer is read this long at most, to keep the connection; then it is cut. */
const BODY_MS = 1_000;

interface ListenOptions {
  readonly forwardTo: string;
  readonly relay?: string;
  readonly token?: string;
  readonly secret?: string;
  readonly rotateSecret?: boolean;
  readonly interval?: string;
  readonly events?: readonly string[];
  readonly event?: readonly string[];
  readonly allEvents?: boolean;
}

interface EventItem {
  readonly id: string;
  readonly type: string;
  readonly createdAt: string;
  readonly body: { data?: { workspaceId?: string; taskId?: string; part?: unknown } };
}

const two = (n: number) => String(n).padStart(2, "0");

/** Local wall time to the second, as a terminal next to a local server reads best. */
export function stamp(ms: number): string {
  const d = new Date(ms);
  return (
    `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ` +
    `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`
  );
}

async function signingSecret(io: CliIo, options: ListenOptions, relay: URL) {
  if (options.secret !== undefined) {
    return { secret: options.secret, note: "the secret given with --secret (not saved)" };
  }
  const kept = await listenSecret(io.env, relay, options.rotateSecret === true);
  const note = kept.created
    ? `a new signing secret for ${relay.origin}, kept in ${kept.file}: configure your endpoint with it`
    : `your signing secret for ${relay.origin}, the same on every start (kept in ${kept.file}; --rotate-secret replaces it)`;
  return { secret: kept.secret, note };
}

export async function listenCommand(io: CliIo, options: ListenOptions): Promise<void> {
  const config = loadConfig(io.env);
  const target = forwardTarget(options.forwardTo);
  const relay = httpUrl("--relay", options.relay ?? `http://127.0.0.1:${config.api.port}`);
  const intervalMs = parseDuration(options.interval ?? "1s");
  if (intervalMs === undefined || intervalMs < 10)
    throw new InputError("must be a duration of at least 10ms", { field: "--interval" });
  const lists = options.events || options.event ? [...(options.events ?? []), ...(options.event ?? [])] : undefined;
  const selection = eventSelection({ ...(lists ? { events: lists } : {}), allEvents: options.allEvents === true });
  const token = options.token ?? config.api.tokens?.[0];
  if (options.secret !== undefined && !SECRET_PATTERN.test(options.secret))
    throw new InputError("must look like whsec_<base64>", { field: "--secret" });
  if (options.secret !== undefined && options.rotateSecret)
    throw new InputError("give --secret or --rotate-secret, not both", { field: "--secret" });
  const stop = io.stopSignal ?? untilSignal();
  let stopping = false;
  void stop.then(() => {
    stopping = true;
  });

  /** One page of events from `sinceMs`, after `cursor`, in creation order. */
  async function page(sinceMs: number, cursor: string | undefined) {
    const url = new URL("/v1/events", relay);
    url.searchParams.set("since", String(sinceMs));
    url.searchParams.set("limit", "100");
    // Creation order: the lists are newest first by default.
    url.searchParams.set("order", "oldest");
    if (cursor) url.searchParams.set("cursor", cursor);
    return (await getFromRelay(relay, url, token)) as { items: EventItem[]; next: string | null };
  }

  async function forward(event: EventItem, note = ""): Promise<void> {
    const body = JSON.stringify(event.body);
    const nowMs = Date.now();
    const msgId = deliveryId(event.id, "listen");
    const headers = {
      ...webhookHeaders({ msgId, secrets: [secret], nowMs, body }),
      traceparent: traceparent(event.id.slice("evt_".length)),
    };
    // The relay's answer is printed as one line whatever its ids hold.
    // A progress event says which part of the result finished.
    const part = typeof event.body.data?.part === "string" ? ` · ${event.body.data.part}` : "";
    const what = escapeUnsafe(
      `${event.type}${part}  ${event.body.data?.workspaceId ?? "?"}/${event.body.data?.taskId ?? "?"}`,
    );
    const ids = escapeUnsafe(`${event.id}  ${msgId}`);
    let outcome: string;
    try {
      // One deadline for the whole forward: undici's own bound the gap between chunks, so a target
      // trickling its answer held listen (and Ctrl-C) for hours. Its status line is the answer.
      const res = await withDeadline(TIMEOUT_MS, (signal) =>
        request(target, { method: "POST", headers, body, signal }),
      );
      await withDeadline(BODY_MS, () => res.body.dump()).catch(() => res.body.destroy());
      outcome = `[${res.statusCode}] ${Date.now() - nowMs} ms`;
    } catch (error) {
      outcome = `[failed: ${escapeUnsafe(forwardFailure(target, error))}]`;
    }
    io.out(`${stamp(nowMs)}  → ${what}  ${outcome}  ${ids}${note}\n`);
  }

  const seen = new Map<string, number>();
  let newestMs = Date.now() - PRIME_MS;
  /**
   * Reads what is new since the last look; forwards it, oldest first, unless `prime` (the first
   * look marks the tail). One `since` for all the pages of a look, and the order is its own: it
   * holds whatever order the relay lists events in.
   */
  async function look(prime: boolean): Promise<void> {
    const sinceMs = Math.max(0, newestMs - LOOKBACK_MS);
    // Taken as seen only once every page is read: a look cut short by an error loses nothing.
    const fresh = new Map<string, { event: EventItem; atMs: number }>();
    let cursor: string | undefined;
    do {
      const { items, next } = await page(sinceMs, cursor);
      for (const event of items)
        if (!seen.has(event.id)) fresh.set(event.id, { event, atMs: Date.parse(event.createdAt) });
      // A relay that answers with the cursor it was given would hold the look for ever.
      cursor = next && next !== cursor ? next : undefined;
    } while (cursor && !stopping);
    const ordered = [...fresh.values()].sort((a, b) => a.atMs - b.atMs || (a.event.id < b.event.id ? -1 : 1));
    for (const { event, atMs } of ordered) {
      seen.set(event.id, atMs);
      newestMs = Math.max(newestMs, atMs);
    }
    for (const { event } of ordered) {
      if (stopping) break;
      if (!prime && (!selection.types || selection.types.has(event.type))) await forward(event);
    }
    for (const [id, atMs] of seen) if (atMs < newestMs - 2 * LOOKBACK_MS) seen.delete(id);
  }

  const resent = new Map<string, number>();
  let newestResendMs = Date.now() - PRIME_MS;
  let resendsServed = true;
  /** Events resent since the last look (`events resend`), forwarded again; the first look marks the tail. */
  async function lookResends(prime: boolean): Promise<void> {
    if (!resendsServed) return;
    const items: Array<EventItem & { resentAt: string }> = [];
    // Every page, as look() reads them: a burst of resends between two looks is forwarded whole.
    let cursor: string | undefined;
    do {
      const url = new URL("/v1/event-resends", relay);
      url.searchParams.set("since", String(Math.max(0, newestResendMs - LOOKBACK_MS)));
      if (cursor) url.searchParams.set("cursor", cursor);
      let page: { items: Array<EventItem & { resentAt: string }>; next?: string | null };
      try {
        page = (await getFromRelay(relay, url, token)) as typeof page;
      } catch (error) {
        // A relay from before resends were logged: listen forwards new events only.
        if (error instanceof RelayAnswerError && error.status === 404) resendsServed = false;
        else throw error;
        return;
      }
      items.push(...page.items);
      cursor = typeof page.next === "string" && page.next !== cursor ? page.next : undefined;
    } while (cursor && !stopping);
    for (const event of items) {
      const key = `${event.id} ${event.resentAt}`;
      if (resent.has(key)) continue;
      const atMs = Date.parse(event.resentAt);
      resent.set(key, atMs);
      newestResendMs = Math.max(newestResendMs, atMs);
      if (!prime && !stopping && (!selection.types || selection.types.has(event.type)))
        await forward(event, "  (resent)");
    }
    for (const [key, atMs] of resent) if (atMs < newestResendMs - 2 * LOOKBACK_MS) resent.delete(key);
  }

  await look(true);
  await lookResends(true);
  // After the relay answered: a mistyped --relay leaves no secret behind.
  const { secret, note } = await signingSecret(io, options, relay);
  // The secret alone on the first line of stdout, for scripts: `secret=$(… | head -1)`.
  io.out(`${secret}\n`);
  io.err(
    `Ready! Above is ${note}.\n` +
      `Forwarding ${selection.label}\n  from ${relay.origin} to ${target.href}. Ctrl-C stops.\n`,
  );
  let failing = false;
  while (!stopping) {
    await Promise.race([stop, new Promise((resolve) => setTimeout(resolve, intervalMs))]);
    if (stopping) break;
    try {
      await look(false);
      await lookResends(false);
      if (failing) io.err(`${stamp(Date.now())}  listen: the relay answers again\n`);
      failing = false;
    } catch (error) {
      // The relay may restart or be briefly unreachable: say so once, and keep listening.
      if (!failing) io.err(`${stamp(Date.now())}  listen: ${escapeUnsafe(coerceError(error).message)}; trying again\n`);
      failing = true;
    }
  }
}
