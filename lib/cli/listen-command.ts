/**
 * `listen --forward-to URL`: follows a running relay's events (GET /v1/events) and POSTs each one,
 * signed per Standard Webhooks with a local secret it prints first, to a local URL — as
 * `stripe listen` does — so a subscriber can build its endpoint on localhost without a tunnel,
 * against `npm start` or an FC deployment alike. Only events created after it starts are sent.
 */
import { request } from "undici";
import { loadConfig } from "../config.js";
import { webhookHeaders } from "../delivery/sign.js";
import { traceparent } from "../delivery/signed-send.js";
import { parseDuration } from "../duration.js";
import { coerceError, InputError } from "../errors.js";
import { EVENT_TYPES, isEventType } from "../events.js";
import { deliveryId } from "../ids.js";
import { escapeUnsafe } from "../input.js";
import { newSecret } from "../secrets.js";
import type { CliIo } from "./io.js";
import { untilSignal } from "./signals.js";

/** Events are read again this far back, so one created late by a skewed clock is not missed. */
const LOOKBACK_MS = 10_000;
/** Before its start, what it has seen marks the tail: nothing older is forwarded. */
const PRIME_MS = 60_000;
const TIMEOUT_MS = 15_000;

interface ListenOptions {
  readonly forwardTo: string;
  readonly relay?: string;
  readonly token?: string;
  readonly secret?: string;
  readonly interval?: string;
  readonly event?: readonly string[];
}

interface EventItem {
  readonly id: string;
  readonly type: string;
  readonly createdAt: string;
  readonly body: { data?: { workspaceId?: string; taskId?: string } };
}

function httpUrl(field: string, text: string): URL {
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

export async function listenCommand(io: CliIo, options: ListenOptions): Promise<void> {
  const config = loadConfig(io.env);
  const target = httpUrl("--forward-to", options.forwardTo);
  const relay = httpUrl("--relay", options.relay ?? `http://127.0.0.1:${config.api.port}`);
  const intervalMs = parseDuration(options.interval ?? "1s");
  if (intervalMs === undefined || intervalMs < 10)
    throw new InputError("must be a duration of at least 10ms", { field: "--interval" });
  const secret = options.secret ?? newSecret();
  if (!/^whsec_[A-Za-z0-9+/=]{20,}$/.test(secret))
    throw new InputError("must look like whsec_<base64>", { field: "--secret" });
  const token = options.token ?? config.api.tokens?.[0];
  const unknown = (options.event ?? []).filter((type) => !isEventType(type));
  if (unknown.length > 0)
    throw new InputError(`"${unknown[0]}" is not an event type (${EVENT_TYPES.join(", ")})`, { field: "--event" });
  const wanted = options.event && options.event.length > 0 ? new Set(options.event) : undefined;
  const stop = io.stopSignal ?? untilSignal();
  let stopping = false;
  void stop.then(() => {
    stopping = true;
  });

  /** One page of events from `sinceMs`, after `cursor`. */
  async function page(sinceMs: number, cursor: string | undefined) {
    const url = new URL("/v1/events", relay);
    url.searchParams.set("since", String(sinceMs));
    url.searchParams.set("limit", "100");
    // Creation order: the lists are newest first by default.
    url.searchParams.set("order", "oldest");
    if (cursor) url.searchParams.set("cursor", cursor);
    const res = await request(url, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      headersTimeout: TIMEOUT_MS,
      bodyTimeout: TIMEOUT_MS,
    });
    const text = await res.body.text();
    if (res.statusCode !== 200)
      throw new Error(`GET ${url.pathname} answered HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
    return JSON.parse(text) as { items: EventItem[]; next: string | null };
  }

  async function forward(event: EventItem): Promise<void> {
    const body = JSON.stringify(event.body);
    const nowMs = Date.now();
    const headers = {
      ...webhookHeaders({ msgId: deliveryId(event.id, "listen"), secrets: [secret], nowMs, body }),
      traceparent: traceparent(event.id.slice("evt_".length)),
    };
    // The relay's answer is printed as one line whatever its ids hold.
    const what = escapeUnsafe(
      `${event.type}  ${event.body.data?.workspaceId ?? "?"}/${event.body.data?.taskId ?? "?"}`,
    );
    try {
      const res = await request(target, {
        method: "POST",
        headers,
        body,
        headersTimeout: TIMEOUT_MS,
        bodyTimeout: TIMEOUT_MS,
      });
      await res.body.dump();
      io.out(`→ ${what}  [${res.statusCode}] ${Date.now() - nowMs} ms\n`);
    } catch (error) {
      io.out(`→ ${what}  [failed: ${escapeUnsafe(coerceError(error).message)}]\n`);
    }
  }

  const seen = new Map<string, number>();
  let newestMs = Date.now() - PRIME_MS;
  /** Reads what is new since the last look; forwards it unless `prime` (the first look marks the tail). */
  async function look(prime: boolean): Promise<void> {
    let cursor: string | undefined;
    do {
      const { items, next } = await page(Math.max(0, newestMs - LOOKBACK_MS), cursor);
      for (const event of items) {
        if (seen.has(event.id)) continue;
        const atMs = Date.parse(event.createdAt);
        seen.set(event.id, atMs);
        newestMs = Math.max(newestMs, atMs);
        if (!prime && (!wanted || wanted.has(event.type))) await forward(event);
      }
      cursor = next ?? undefined;
    } while (cursor && !stopping);
    for (const [id, atMs] of seen) if (atMs < newestMs - 2 * LOOKBACK_MS) seen.delete(id);
  }

  await look(true);
  io.out(`${secret}\n`);
  io.err(
    `Ready: forwarding ${wanted ? [...wanted].join(", ") : "every event"} from ${relay.origin} to ${target.href}\n` +
      `Verify with the signing secret above (printed first). Ctrl-C stops.\n`,
  );
  while (!stopping) {
    await Promise.race([stop, new Promise((resolve) => setTimeout(resolve, intervalMs))]);
    if (stopping) break;
    try {
      await look(false);
    } catch (error) {
      // The relay may restart or be briefly unreachable: say so and keep listening.
      io.err(`listen: ${escapeUnsafe(coerceError(error).message)}; trying again\n`);
    }
  }
}
