/**
 * The CLI's lists (tasks, deliveries, events): newest first, a page at a time, with the API's
 * views and `{items, next}` under --json; a table otherwise, and the command for the next page on
 * stderr, so the table stays clean to pipe.
 */
import { deliveryView, eventView, pageView, taskView } from "../api/presenters.js";
import { parseDuration } from "../duration.js";
import { InputError } from "../errors.js";
import type { DeliveryFilter, Page } from "../store/store.js";
import type { CliIo } from "./io.js";
import { withRelay } from "./relay-commands.js";
import { deliveryRows, eventRows, taskRows } from "./rows.js";

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

export function parseLimit(text: string | undefined): number {
  const limit = Number(text ?? 100);
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
    throw new InputError("must be 1 to 10000", { field: "--limit" });
  return limit;
}

/** An ISO time, epoch milliseconds, or a duration ago ("1h": the last hour). */
export function parseSince(text: string | undefined, nowMs: number): number | undefined {
  if (text === undefined) return undefined;
  if (/^\d+$/.test(text)) return Number(text);
  const ago = parseDuration(text);
  if (ago !== undefined) return nowMs - ago;
  const at = /^\d{4}-\d\d-\d\d/.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(at))
    throw new InputError("must be an ISO time, epoch ms, or a duration ago like 1h", { field: "--since" });
  return at;
}

/** Prints a page: JSON as the API answers it, or a table and, when there is more, how to get it. */
function printPage<T>(
  io: CliIo,
  page: Page<T>,
  options: { json?: boolean | undefined },
  view: (row: T) => unknown,
  rows: (items: readonly T[]) => string,
): void {
  if (options.json) return io.out(json(pageView(page, view)));
  io.out(rows(page.items));
  if (page.cursor) io.err(`more: repeat with --cursor ${page.cursor}\n`);
}

export interface ListOptions {
  readonly limit?: string;
  readonly cursor?: string;
  readonly json?: boolean;
}

export async function tasksList(
  io: CliIo,
  options: ListOptions & { status?: string; state?: string; workspace?: string },
): Promise<void> {
  if (options.state !== undefined && options.state !== "active" && options.state !== "done") {
    throw new InputError("must be active or done", { field: "--state" });
  }
  const limit = parseLimit(options.limit);
  const page = await withRelay(io, (relay) =>
    relay.store.listTasks({
      limit,
      ...(options.cursor ? { cursor: options.cursor } : {}),
      ...(options.status ? { status: options.status } : {}),
      ...(options.state ? { state: options.state as "active" | "done" } : {}),
      ...(options.workspace ? { workspaceId: options.workspace } : {}),
    }),
  );
  printPage(io, page, options, taskView, taskRows);
}

const DELIVERY_STATUSES = ["pending", "delivered", "dead", "failed"] as const;

export async function deliveriesList(
  io: CliIo,
  options: ListOptions & {
    status?: string;
    failed?: boolean;
    webhook?: string;
    eventId?: string;
    type?: string;
    since?: string;
  },
): Promise<void> {
  const status = options.failed ? "failed" : options.status;
  if (status !== undefined && !(DELIVERY_STATUSES as readonly string[]).includes(status)) {
    throw new InputError("must be pending, delivered, dead or failed (the dead and the retrying)", {
      field: "--status",
    });
  }
  if (options.failed && options.status !== undefined && options.status !== "failed")
    throw new InputError("--failed is --status failed: give one of them", { field: "--failed" });
  const limit = parseLimit(options.limit);
  const page = await withRelay(io, (relay) => {
    const sinceMs = parseSince(options.since, relay.tickDeps.clock.now());
    const filter: DeliveryFilter = {
      limit,
      ...(options.cursor ? { cursor: options.cursor } : {}),
      ...(status ? { status: status as DeliveryFilter["status"] } : {}),
      ...(options.webhook ? { webhookId: options.webhook } : {}),
      ...(options.eventId ? { eventId: options.eventId } : {}),
      ...(options.type ? { eventType: options.type } : {}),
      ...(sinceMs !== undefined ? { sinceMs } : {}),
    };
    return relay.store.listDeliveries(filter);
  });
  printPage(io, page, options, deliveryView, deliveryRows);
}

export async function eventsList(io: CliIo, options: ListOptions & { since?: string }): Promise<void> {
  const limit = parseLimit(options.limit);
  const page = await withRelay(io, (relay) => {
    const sinceMs = parseSince(options.since, relay.tickDeps.clock.now());
    return relay.store.listRecentEvents({
      limit,
      ...(options.cursor ? { cursor: options.cursor } : {}),
      ...(sinceMs !== undefined ? { sinceMs } : {}),
    });
  });
  printPage(io, page, options, eventView, eventRows);
}
