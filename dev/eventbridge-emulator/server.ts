/**
 * An EventBridge data plane on 127.0.0.1 that speaks PutEvents as `@alicloud/eventbridge` does:
 * `POST /openapi/putEvents`, a JSON array of CloudEvents. Like the service it checks the request's
 * signature (with the SDK's own `@alicloud/eventbridge-util` as the oracle, so the relay's signer
 * is held to Alibaba's code, not to a second copy of itself), the AccessKey and its STS token, the
 * date, the limits (16 events and 256 KiB a request, 64 KiB an event, the id's form, the lengths of
 * source, type and subject) and that the bus exists; it answers each entry, and records what it took.
 *
 * Faults on demand: fail chosen entries with a code, or whole requests (403 with an auth code, 429
 * with Retry-After, 500), or hold requests without an answer (a hang).
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createRequire } from "node:module";
import { type Clock, systemClock } from "../../lib/clock.js";
import { listenOnLoopback } from "../loopback.js";

export interface EmulatorCredential {
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  readonly securityToken?: string | undefined;
}

export const EVENTBRIDGE_EMULATOR_CREDENTIAL: EmulatorCredential = {
  accessKeyId: "eb-emulator-key",
  accessKeySecret: "eb-emulator-secret",
};

export const LIMITS = { events: 16, requestBytes: 256 * 1024, eventBytes: 64 * 1024 } as const;

/** One event as the bus took it. */
export interface ReceivedEvent {
  readonly id: string;
  readonly source: string;
  readonly type: string;
  readonly subject: string | undefined;
  readonly time: string | undefined;
  readonly bus: string;
  readonly data: unknown;
  /** The event's JSON as it arrived, in bytes. */
  readonly bytes: number;
  readonly eventId: string;
}

export type RequestFault =
  | { readonly kind: "status"; readonly status: number; readonly code: string; readonly retryAfterS?: number }
  | { readonly kind: "hang" };

export interface EventBridgeEmulatorOptions {
  readonly port?: number;
  readonly buses?: readonly string[];
  readonly credentials?: readonly EmulatorCredential[];
  readonly clock?: Clock;
  /** False: count events without keeping them (a benchmark's millions). */
  readonly record?: boolean;
  /** Told of each event the bus takes (the sandbox prints them). */
  readonly onEvent?: ((event: ReceivedEvent) => void) | undefined;
}

export interface EventBridgeEmulator {
  readonly url: string;
  /** Events taken, in order (failed entries are not); empty with `record: false`. */
  readonly events: ReceivedEvent[];
  /** How many events were taken. */
  taken(): number;
  /** Requests that reached PutEvents (signed or not), with their event count. */
  readonly requests: Array<{ readonly events: number; readonly status: number }>;
  addBus(name: string): void;
  /** The next `times` requests fail as a whole. */
  failRequests(fault: RequestFault, times?: number): void;
  /** Entries whose id `match` accepts fail with `code`, `times` times each (default: always). */
  failEntries(match: (id: string) => boolean, code: string, times?: number): void;
  clearFaults(): void;
  close(): Promise<void>;
}

const require = createRequire(import.meta.url);
interface SignerUtil {
  getStringToSign(request: {
    method: string;
    pathname: string;
    headers: Record<string, string>;
    query: object;
  }): string;
  getSignature(stringToSign: string, secret: string): string;
}
// The SDK's signer is a devDependency: loaded here only, never by lib/.
const util = (require("@alicloud/eventbridge-util") as { default: SignerUtil }).default;

/**
 * The request target as a URL. Read relative to a base, `//[` is a host that cannot parse, and the
 * throw would end the process (the sandbox's, under `npm start`): read after the base's host, it is a path.
 */
function targetUrl(target: string | undefined): URL {
  return new URL(`http://emulator${target?.startsWith("/") ? target : "/"}`);
}

/** What the emulator keeps of a request body: four times the largest request PutEvents takes. */
const READ_LIMIT_BYTES = 1024 * 1024;

class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const ID = /^[A-Za-z0-9][A-Za-z0-9-]{0,127}$/;

export async function startEventBridgeEmulator(options: EventBridgeEmulatorOptions = {}): Promise<EventBridgeEmulator> {
  const clock = options.clock ?? systemClock;
  const buses = new Set(options.buses ?? ["relay-events"]);
  const credentials = new Map(
    (options.credentials ?? [EVENTBRIDGE_EMULATOR_CREDENTIAL]).map((c) => [c.accessKeyId, c]),
  );
  const events: ReceivedEvent[] = [];
  let taken = 0;
  const requests: Array<{ events: number; status: number }> = [];
  let requestFaults: Array<{ fault: RequestFault; left: number }> = [];
  let entryFaults: Array<{ match: (id: string) => boolean; code: string; left: Map<string, number>; times: number }> =
    [];
  const hung = new Set<ServerResponse>();

  function authenticate(req: IncomingMessage): void {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(",") : value;
    }
    const match = /^acs:([^:]+):(.+)$/.exec(headers.authorization ?? "");
    if (!match) throw new Refusal(403, "SignatureDoesNotMatch", "The authorization header is missing or malformed.");
    const [, accessKeyId = "", given = ""] = match;
    const credential = credentials.get(accessKeyId);
    if (!credential) throw new Refusal(403, "InvalidAccessKeyId", `The AccessKeyId ${accessKeyId} does not exist.`);
    if ((credential.securityToken ?? undefined) !== (headers["x-acs-security-token"] ?? undefined))
      throw new Refusal(403, "SecurityTokenInvalid", "The security token is missing or does not match the AccessKey.");
    if (credential.securityToken && headers["x-acs-accesskey-id"] !== accessKeyId)
      throw new Refusal(403, "InvalidStsAccessKeyId", "x-acs-accesskey-id does not name the signing key.");
    const date = Date.parse(headers.date ?? "");
    if (!Number.isFinite(date) || Math.abs(date - clock.now()) > 15 * 60_000)
      throw new Refusal(403, "SignatureDoesNotMatch", "The date header is missing or more than 15 minutes off.");
    const url = targetUrl(req.url);
    const query = Object.fromEntries(url.searchParams);
    const expected = util.getSignature(
      util.getStringToSign({ method: req.method ?? "POST", pathname: url.pathname, headers, query }),
      credential.accessKeySecret,
    );
    if (expected !== given) throw new Refusal(403, "SignatureDoesNotMatch", "The request signature does not match.");
  }

  function entryFault(id: string): string | undefined {
    for (const f of entryFaults) {
      if (!f.match(id)) continue;
      const left = f.left.get(id) ?? f.times;
      if (left <= 0) continue;
      f.left.set(id, left - 1);
      return f.code;
    }
    return undefined;
  }

  /** One entry's check; a failure is that entry's ErrorCode, never the request's. */
  function checkEvent(e: Record<string, unknown>, bytes: number): [string, string] | undefined {
    if (typeof e.id !== "string" || !ID.test(e.id))
      return ["InvalidArgument", "id must be 1-128 letters, digits or '-', starting with a letter or digit"];
    if (typeof e.source !== "string" || e.source.length === 0 || e.source.length > 128)
      return ["InvalidArgument", "source must be 1-128 characters"];
    if (typeof e.type !== "string" || e.type.length === 0 || e.type.length > 64)
      return ["InvalidArgument", "type must be 1-64 characters"];
    if (e.subject !== undefined && (typeof e.subject !== "string" || e.subject.length > 512))
      return ["InvalidArgument", "subject must be at most 512 characters"];
    if (e.specversion !== "1.0") return ["InvalidArgument", "specversion must be 1.0"];
    if (bytes > LIMITS.eventBytes)
      return ["EventSizeExceeded", `the event is ${bytes} bytes, over ${LIMITS.eventBytes}`];
    if (typeof e.aliyuneventbusname !== "string" || !buses.has(e.aliyuneventbusname))
      return ["EventBusNotExist", `event bus ${String(e.aliyuneventbusname)} does not exist`];
    return undefined;
  }

  function putEvents(req: IncomingMessage, body: Buffer): unknown {
    authenticate(req);
    const contentType = req.headers["content-type"] ?? "";
    if (!contentType.startsWith("application/cloudevents-batch+json"))
      throw new Refusal(400, "InvalidArgument", "content-type must be application/cloudevents-batch+json");
    if (body.length > LIMITS.requestBytes)
      throw new Refusal(
        400,
        "RequestEntityTooLarge",
        `the request is ${body.length} bytes, over ${LIMITS.requestBytes}`,
      );
    let list: unknown;
    try {
      list = JSON.parse(body.toString("utf8"));
    } catch {
      throw new Refusal(400, "InvalidArgument", "the body is not JSON");
    }
    if (!Array.isArray(list) || list.length === 0)
      throw new Refusal(400, "InvalidArgument", "the body must be a non-empty array of events");
    if (list.length > LIMITS.events)
      throw new Refusal(400, "InvalidArgument", `${list.length} events, over ${LIMITS.events}`);
    const entries = list.map((raw: unknown) => {
      const e = (raw && typeof raw === "object" ? raw : {}) as Record<string, unknown>;
      const bytes = Buffer.byteLength(JSON.stringify(raw));
      const problem = checkEvent(e, bytes);
      const injected = problem ? undefined : entryFault(String(e.id));
      const traceId = randomUUID();
      if (problem || injected) {
        const [code, message] = problem ?? [injected as string, "injected failure"];
        return {
          EventId: typeof e.id === "string" ? e.id : "",
          TraceId: traceId,
          ErrorCode: code,
          ErrorMessage: message,
        };
      }
      taken++;
      if (options.record !== false || options.onEvent) {
        const received: ReceivedEvent = {
          id: e.id as string,
          source: e.source as string,
          type: e.type as string,
          subject: typeof e.subject === "string" ? e.subject : undefined,
          time: typeof e.time === "string" ? e.time : undefined,
          bus: e.aliyuneventbusname as string,
          data: e.data,
          bytes,
          eventId: traceId,
        };
        if (options.record !== false) events.push(received);
        options.onEvent?.(received);
      }
      return { EventId: e.id as string, TraceId: traceId };
    });
    return {
      RequestId: randomUUID(),
      ResourceOwnerAccountId: "1234567890",
      FailedEntryCount: entries.filter((e) => "ErrorCode" in e).length,
      EntryList: entries,
    };
  }

  const answer = (res: ServerResponse, status: number, json: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(JSON.stringify(json));
  };

  const server = await listenOnLoopback((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      // Past any request PutEvents takes (256 KiB), the rest is not kept: it shares npm start's memory.
      size += c.length;
      if (size <= READ_LIMIT_BYTES) chunks.push(c);
    });
    req.on("end", () => {
      if (size > READ_LIMIT_BYTES) {
        answer(res, 413, {
          code: "RequestEntityTooLarge",
          message: "The request body is too large.",
          requestId: randomUUID(),
        });
        return;
      }
      const requestId = randomUUID();
      if (req.method !== "POST" || targetUrl(req.url).pathname !== "/openapi/putEvents") {
        answer(res, 404, { code: "NotFound", message: `no ${req.method} ${req.url}`, requestId });
        return;
      }
      const body = Buffer.concat(chunks);
      const count = (() => {
        try {
          const list = JSON.parse(body.toString("utf8"));
          return Array.isArray(list) ? list.length : 0;
        } catch {
          return 0;
        }
      })();
      const rule = requestFaults.find((r) => r.left > 0);
      if (rule) {
        rule.left--;
        if (rule.fault.kind === "hang") {
          hung.add(res);
          requests.push({ events: count, status: 0 });
          return;
        }
        const { status, code, retryAfterS } = rule.fault;
        requests.push({ events: count, status });
        answer(
          res,
          status,
          { code, message: `injected ${code}`, requestId },
          retryAfterS === undefined ? {} : { "retry-after": String(retryAfterS) },
        );
        return;
      }
      try {
        const result = putEvents(req, body);
        requests.push({ events: count, status: 200 });
        answer(res, 200, result);
      } catch (error) {
        if (!(error instanceof Refusal)) throw error;
        requests.push({ events: count, status: error.status });
        answer(res, error.status, { code: error.code, message: error.message, requestId });
      }
    });
  }, options.port ?? 0);

  return {
    url: server.url,
    events,
    taken: () => taken,
    requests,
    addBus: (name) => void buses.add(name),
    failRequests(fault, times = 1) {
      requestFaults.push({ fault, left: times });
    },
    failEntries(match, code, times = Number.POSITIVE_INFINITY) {
      entryFaults.push({ match, code, left: new Map(), times });
    },
    clearFaults() {
      requestFaults = [];
      entryFaults = [];
    },
    async close() {
      for (const res of hung) res.destroy();
      await server.close();
    },
  };
}
