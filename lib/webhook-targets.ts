/**
 * Where and how a subscription's events go, as given (API body, CLI options, library call) and
 * checked alike for all of them: the format of a URL webhook, or an EventBridge bus.
 *
 * An EventBridge target is stored with its region and account resolved (the caller's, else the
 * relay's own), and its `url` names the bus as an ARN-like string, which lists show and which never
 * reaches the SSRF guard: nothing is POSTed to it.
 */
import { BINARY_HEADER_PREFIX } from "./delivery/framing.js";
import { InputError, InvalidValueError } from "./errors.js";
import { shownValue } from "./input.js";
import { type EventBridgeTarget, WEBHOOK_FORMATS, type WebhookFormat, type WebhookRow } from "./store/store.js";
import { checkWebhookUrl, type RegistrationDeps } from "./tasks.js";

/** The relay's own region and account (FC_REGION, FC_ACCOUNT_ID; Function Compute sets both). */
export type OwnCloud = NonNullable<RegistrationDeps["ownCloud"]>;

/** Field names as the caller knows them: the API body's, or the CLI's options. */
export interface EventBridgeFields {
  readonly busName: string;
  readonly region: string;
  readonly accountId: string;
}

export interface TargetFields extends EventBridgeFields {
  readonly url: string;
  readonly format: string;
  readonly eventBridge: string;
  readonly headers: string;
}

export const API_FIELDS: TargetFields = {
  url: "url",
  format: "format",
  eventBridge: "eventBridge",
  headers: "headers",
  busName: "eventBridge.busName",
  region: "eventBridge.region",
  accountId: "eventBridge.accountId",
};

export const MAX_BUS_NAME_LENGTH = 127;
const BUS_NAME = /^[A-Za-z0-9][A-Za-z0-9-]*$/;
const RESERVED_BUS_PREFIX = "eventbridge-reserved-";
const REGION = /^[a-z0-9]+(-[a-z0-9]+)+$/;
const ACCOUNT_ID = /^\d{1,20}$/;

export function checkFormat(value: unknown, field = "format"): WebhookFormat {
  if (typeof value !== "string" || !(WEBHOOK_FORMATS as readonly string[]).includes(value)) {
    throw new InvalidValueError(`must be one of ${WEBHOOK_FORMATS.join(", ")}; got ${shownValue(value)}`, { field });
  }
  return value as WebhookFormat;
}

export function checkBusName(value: unknown, field: string): string {
  if (typeof value !== "string" || value === "") throw new InvalidValueError("must be an event bus name", { field });
  if (value.length > MAX_BUS_NAME_LENGTH) {
    throw new InvalidValueError(`must be at most ${MAX_BUS_NAME_LENGTH} characters; got ${value.length}`, { field });
  }
  if (!BUS_NAME.test(value)) {
    throw new InvalidValueError(
      `${shownValue(value)} is not an event bus name: one starts with a letter or digit, and has only letters, digits and hyphens`,
      { field },
    );
  }
  if (value === "default") {
    throw new InvalidValueError(
      `"default" is the bus of Alibaba Cloud services' own events; custom applications publish to a custom bus (create one in EventBridge and name it here)`,
      { field },
    );
  }
  if (value.toLowerCase().startsWith(RESERVED_BUS_PREFIX)) {
    throw new InvalidValueError(`names starting with "${RESERVED_BUS_PREFIX}" are reserved by EventBridge`, { field });
  }
  return value;
}

export function checkRegion(value: unknown, field: string): string {
  if (typeof value !== "string" || value.length > 40 || !REGION.test(value)) {
    throw new InvalidValueError(`must be a region id like cn-hangzhou; got ${shownValue(value)}`, { field });
  }
  return value;
}

export function checkAccountId(value: unknown, field: string): string {
  if (typeof value !== "string" || !ACCOUNT_ID.test(value)) {
    throw new InvalidValueError(
      `must be an Alibaba Cloud account id: digits (16 for an Alibaba Cloud account); got ${shownValue(value)}`,
      { field },
    );
  }
  return value;
}

/**
 * A bus as given, its region and account defaulting to the relay's own; neither given nor known
 * (outside Function Compute): refused, saying which to pass.
 */
const TARGET_KEYS = new Set(["busName", "region", "accountId"]);

export function checkEventBridgeTarget(
  value: unknown,
  own: OwnCloud | undefined,
  fields: TargetFields = API_FIELDS,
): Required<EventBridgeTarget> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new InvalidValueError("must be an object: { busName, region?, accountId? }", { field: fields.eventBridge });
  }
  const given = value as Record<string, unknown>;
  // A misspelt key (accountID) would otherwise publish to the relay's own account without a word.
  const stray = Object.keys(given).find((k) => !TARGET_KEYS.has(k));
  if (stray !== undefined) {
    throw new InvalidValueError(`${shownValue(stray)} is not a field of a bus: busName, region, accountId`, {
      field: `${fields.eventBridge}.${stray}`,
    });
  }
  const busName = checkBusName(given.busName, fields.busName);
  const region = given.region === undefined ? own?.region : checkRegion(given.region, fields.region);
  const accountId = given.accountId === undefined ? own?.accountId : checkAccountId(given.accountId, fields.accountId);
  const missing = [
    region === undefined ? fields.region : undefined,
    accountId === undefined ? fields.accountId : undefined,
  ]
    .filter((f) => f !== undefined)
    .join(" and ");
  if (missing !== "") {
    const unknown = [region === undefined ? "region" : "", accountId === undefined ? "account" : ""];
    throw new InvalidValueError(
      `the relay does not know its own ${unknown.filter(Boolean).join(" and ")} here (Function Compute sets FC_REGION and FC_ACCOUNT_ID): pass ${missing}`,
      { field: region === undefined ? fields.region : fields.accountId },
    );
  }
  return { busName, region: region as string, accountId: accountId as string };
}

/** The bus as a subscription's `url` reads: `acs:eventbridge:<region>:<account>:eventbus/<bus>`. */
export function eventBridgeUrl(target: Required<EventBridgeTarget>): string {
  return `acs:eventbridge:${target.region}:${target.accountId}:eventbus/${target.busName}`;
}

type Target = Pick<WebhookRow, "url" | "format" | "eventBridge">;

/**
 * A subscription's target after a request: `given` holds what the request said (undefined: not
 * said; a format of null: back to standard), `headers` the custom headers it will send, `current`
 * the stored row (undefined at creation). Exactly one of a URL and a bus; a bus takes no format
 * (PutEvents carries CloudEvents by nature) and no custom headers (PutEvents sends none of them).
 * The URL is checked last: the SSRF guard may resolve its host name.
 */
export async function webhookTarget(
  deps: Pick<RegistrationDeps, "allowPrivateTargets" | "resolve" | "lookupTimeoutMs" | "ownCloud">,
  given: { readonly url?: unknown; readonly format?: unknown; readonly eventBridge?: unknown },
  headers: Readonly<Record<string, string>>,
  current: Target | undefined,
  fields: TargetFields = API_FIELDS,
): Promise<Target> {
  if (given.url !== undefined && given.eventBridge !== undefined) {
    throw new InvalidValueError(`give ${fields.url} (an endpoint) or ${fields.eventBridge} (a bus), not both`, {
      field: fields.eventBridge,
    });
  }
  if (given.url === undefined && given.eventBridge === undefined && current === undefined) {
    throw new InputError(
      `must be given: the endpoint's URL, or ${fields.eventBridge} to publish to an EventBridge bus`,
      {
        field: fields.url,
      },
    );
  }
  const toBus = given.eventBridge !== undefined || (given.url === undefined && current?.eventBridge !== undefined);
  if (toBus) {
    if (given.format !== undefined && given.format !== null) {
      throw new InvalidValueError(
        "an EventBridge target always receives CloudEvents (PutEvents' own format); a format applies to URL webhooks only",
        { field: fields.format },
      );
    }
    if (Object.keys(headers).length > 0) {
      throw new InvalidValueError(
        "an EventBridge target takes no custom headers: PutEvents carries the event alone (remove them, or subscribe a URL)",
        { field: fields.headers },
      );
    }
    if (given.eventBridge === undefined && current)
      return { url: current.url, format: undefined, eventBridge: current.eventBridge };
    const eventBridge = checkEventBridgeTarget(given.eventBridge, deps.ownCloud, fields);
    return { url: eventBridgeUrl(eventBridge), format: undefined, eventBridge };
  }
  let format: WebhookFormat | undefined =
    given.format === undefined
      ? current?.format
      : given.format === null
        ? undefined
        : checkFormat(given.format, fields.format);
  // Stored absent, as every webhook made before formats was: the standard path reads one field.
  if (format === "standard") format = undefined;
  if (format === "cloudevents-binary") {
    const taken = Object.keys(headers).find((name) => name.toLowerCase().startsWith(BINARY_HEADER_PREFIX));
    if (taken !== undefined) {
      throw new InvalidValueError(
        `"${taken}": ${BINARY_HEADER_PREFIX}* headers carry the event's attributes in the cloudevents-binary format; use another name`,
        { field: fields.headers },
      );
    }
  }
  const url = given.url === undefined ? (current?.url as string) : await checkWebhookUrl(fields.url, given.url, deps);
  return { url, format, eventBridge: undefined };
}
