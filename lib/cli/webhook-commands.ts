/** The `webhooks` commands: subscribe an endpoint, list, show, enable/disable, rotate, delete. */
import { listView, webhookView, webhookWithCircuit } from "../api/presenters.js";
import { InputError, NotFoundError } from "../errors.js";
import { TERMINAL_EVENT_TYPES } from "../events.js";
import { defaultSecrets, rotateDefaultSecret } from "../secrets.js";
import type { WebhookRow } from "../store/store.js";
import type { TargetFields } from "../webhook-targets.js";
import { checkRateLimit, createWebhook, deleteWebhook, rotateWebhookSecret, setWebhookEnabled } from "../webhooks.js";
import { circuitText } from "./circuit-text.js";
import type { CliIo } from "./io.js";
import { json, withRelay } from "./relay-commands.js";
import { shown, table } from "./table.js";

function parseHeaders(specs: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const spec of specs) {
    const colon = spec.indexOf(":");
    if (colon <= 0) throw new InputError(`"${spec}" must look like Name: value`, { field: "--header" });
    headers[spec.slice(0, colon).trim()] = spec.slice(colon + 1).trim();
  }
  return headers;
}

/**
 * `--rate-limit 0.5`. Only decimal notation is read as a number (Number() would also take "0x10"
 * or "" as 0); the range is the library's check, named after the option.
 */
function parseRateLimit(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text.trim())) {
    throw new InputError(`"${text}" is not a number of requests per second (e.g. 10, or 0.5 for one every 2 s)`, {
      field: "--rate-limit",
    });
  }
  return checkRateLimit(Number(text), "--rate-limit");
}

const perSecond = (w: WebhookRow) => (w.rateLimitPerSecond === undefined ? "-" : `${w.rateLimitPerSecond}/s`);

/** The CLI's names for what the API calls `url`, `format`, `eventBridge.busName`, …: errors name the option. */
const CLI_FIELDS: TargetFields = {
  url: "url",
  format: "--format",
  eventBridge: "--eventbridge",
  headers: "--header",
  busName: "--eventbridge",
  region: "--region",
  accountId: "--account-id",
};

export async function webhooksAdd(
  io: CliIo,
  url: string | undefined,
  options: {
    event?: string[];
    workspace?: string;
    header?: string[];
    rateLimit?: string;
    format?: string;
    eventbridge?: string;
    region?: string;
    accountId?: string;
  },
): Promise<void> {
  const rateLimitPerSecond = parseRateLimit(options.rateLimit);
  if (options.eventbridge === undefined && (options.region !== undefined || options.accountId !== undefined)) {
    const field = options.region !== undefined ? "--region" : "--account-id";
    throw new InputError("goes with --eventbridge <bus>: it says where the bus is", { field });
  }
  const eventBridge =
    options.eventbridge === undefined
      ? undefined
      : { busName: options.eventbridge, region: options.region, accountId: options.accountId };
  const { webhook, secret } = await withRelay(io, (relay) =>
    createWebhook(
      relay.registration,
      {
        ...(url !== undefined ? { url } : {}),
        ...(options.format !== undefined ? { format: options.format } : {}),
        ...(eventBridge ? { eventBridge } : {}),
        ...(options.event && options.event.length > 0 ? { events: options.event } : {}),
        ...(options.workspace ? { workspaceId: options.workspace } : {}),
        headers: parseHeaders(options.header ?? []),
        ...(rateLimitPerSecond !== undefined ? { rateLimitPerSecond } : {}),
      },
      CLI_FIELDS,
    ).catch((error: unknown) => {
      // The library names the API's field; here it was given as --event.
      if (error instanceof InputError && error.field === "events")
        throw new InputError(error.detail, { field: "--event", cause: error });
      throw error;
    }),
  );
  io.out(json({ ...webhookView(webhook), secret }));
  // null keeps following the defaults, which the JSON cannot say: said beside it, off stdout.
  if (webhook.events === undefined)
    io.err(`"events": null receives the default types (${TERMINAL_EVENT_TYPES.join(", ")}); --event chooses\n`);
}

export async function webhooksList(io: CliIo, options: { json?: boolean }): Promise<void> {
  const { hooks, shown, nowMs } = await withRelay(io, async (relay) => {
    const hooks = await relay.store.listWebhooks();
    const shown = await Promise.all(hooks.map((w) => webhookWithCircuit(relay.store, w)));
    return { hooks, shown, nowMs: relay.tickDeps.clock.now() };
  });
  if (options.json) return io.out(json(listView(shown)));
  io.out(
    table(
      ["ID", "URL", "STATE", "CIRCUIT", "EVENTS", "WORKSPACE", "RATE LIMIT", "FORMAT"],
      hooks.map((w, i) => [
        w.id,
        w.url,
        w.enabled ? "enabled" : `disabled: ${w.disabledReason ?? ""}`,
        shown[i] ? circuitText(shown[i].circuit, nowMs) : "-",
        (w.events ?? ["(terminal)"]).join(","),
        w.workspaceId ?? "*",
        perSecond(w),
        // A bus gets CloudEvents through PutEvents: "eventbridge" says both where and how.
        w.eventBridge ? "eventbridge" : (w.format ?? "standard"),
      ]),
    ),
  );
}

export async function webhooksShow(io: CliIo, id: string): Promise<void> {
  const shown = await withRelay(io, async (relay) => {
    const webhook = await relay.store.getWebhook(id);
    return webhook && (await webhookWithCircuit(relay.store, webhook));
  });
  if (!shown) throw new NotFoundError(`no webhook with id ${id}`);
  io.out(json(shown));
}

/** Prints the webhook as `PATCH /v1/webhooks/{id}` answers: with its circuit. */
export async function webhooksSetEnabled(io: CliIo, id: string, enabled: boolean): Promise<void> {
  const shown = await withRelay(io, async (relay) =>
    webhookWithCircuit(relay.store, await setWebhookEnabled(relay.store, id, enabled)),
  );
  io.out(json(shown));
}

export async function webhooksRotate(io: CliIo, id: string): Promise<void> {
  const { webhook, secret } = await withRelay(io, (relay) =>
    rotateWebhookSecret({ store: relay.store, clock: relay.tickDeps.clock }, id),
  );
  io.out(
    json({ ...webhookView(webhook), secret, previousSecretValidUntil: new Date(graceEndsAtMs(webhook)).toISOString() }),
  );
}

/** When the last superseded secret stops signing. */
function graceEndsAtMs(webhook: WebhookRow): number {
  return Math.max(...webhook.secrets.map((s) => s.expiresAtMs ?? 0));
}

export async function webhooksDelete(io: CliIo, id: string, options: { json?: boolean } = {}): Promise<void> {
  await withRelay(io, (relay) => deleteWebhook(relay.store, id));
  io.out(options.json ? json({ id, deleted: true }) : `deleted ${shown(id)}\n`);
}

export async function webhooksDefaultSecret(io: CliIo, options: { rotate?: boolean; json?: boolean }): Promise<void> {
  const secret = await withRelay(io, async (relay) =>
    options.rotate
      ? rotateDefaultSecret(relay.store, relay.tickDeps.clock.now())
      : ((await defaultSecrets(relay.store))[0]?.secret ?? ""),
  );
  io.out(options.json ? json({ secret }) : `${shown(secret)}\n`);
}
