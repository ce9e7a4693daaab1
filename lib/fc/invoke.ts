/**
 * Asynchronous invocation of a Function Compute 3.0 function through `@alicloud/fc2`.
 *
 * fc2 speaks the FC 2.0 API, whose invoke path names a service; FC 3.0 functions have none. Its
 * signing ("FC <AccessKeyId>:<signature>") and transport still fit, so the client's API version is
 * set to 2023-03-30 and the FC 3.0 path is written out, as the fc3 deploy component does for its
 * own FC 3.0 calls.
 */
import type { AsyncInvoker } from "../delivery/fanout.js";
import { RelayError } from "../errors.js";
import type { CredentialsProvider } from "../quanmiao/credentials.js";

export const FC3_API_VERSION = "2023-03-30";

export interface FcInvokeTarget {
  readonly accountId: string;
  readonly region: string;
  readonly endpoint: string;
  readonly timeoutMs: number;
}

/** A failed invocation; `retryable` says whether the same request could succeed later. */
export class InvokeError extends RelayError {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status: number | undefined,
    readonly code: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** FC error codes that will not go away by asking again. */
const PERMANENT_CODES = new Set([
  "AccessDenied",
  "InvalidAccessKeyId",
  "SignatureNotMatch",
  "InvalidArgument",
  "FunctionNotFound",
  "EntityTooLarge",
  "RequestEntityTooLarge",
  "MissingRequiredHeader",
]);

function toInvokeError(functionName: string, error: unknown): InvokeError {
  const e = error as { code?: unknown; message?: unknown };
  const code = typeof e?.code === "string" ? e.code : undefined;
  const message = typeof e?.message === "string" ? e.message : String(error);
  // fc2 reports the status only in its message: "POST /functions/… failed with 403. requestid: …".
  const status = Number(/failed with (\d{3})\b/.exec(message)?.[1]) || undefined;
  const permanent =
    (code !== undefined && PERMANENT_CODES.has(code)) ||
    (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429);
  return new InvokeError(`invoking ${functionName} failed: ${message}`, !permanent, status, code, { cause: error });
}

type FcClientClass = typeof import("@alicloud/fc2");

export function createFcInvoker(target: FcInvokeTarget, credentials: CredentialsProvider): AsyncInvoker {
  // fc2 is large (ali-oss, ws, …) and only fan-out needs it: loaded on the first invocation.
  let FCClient: Promise<FcClientClass> | undefined;
  return {
    async invokeAsync(functionName, payload) {
      FCClient ??= import("@alicloud/fc2").then(
        (m) => (m as unknown as { default: FcClientClass }).default ?? m,
        (error: unknown) => {
          FCClient = undefined; // not cached: the next hand-off tries again
          throw new InvokeError(`loading @alicloud/fc2 failed: ${String(error)}`, true, undefined, undefined, {
            cause: error,
          });
        },
      );
      const Client = await FCClient;
      // A client per call: the role's STS credentials rotate, and fc2 keeps the ones it was built with.
      const { accessKeyId, accessKeySecret, securityToken } = await credentials();
      const client = new Client(target.accountId, {
        accessKeyID: accessKeyId,
        accessKeySecret,
        securityToken,
        region: target.region,
        endpoint: target.endpoint,
        timeout: target.timeoutMs,
      });
      client.version = FC3_API_VERSION;
      try {
        const { headers } = await client.post(`/functions/${encodeURIComponent(functionName)}/invocations`, payload, {
          "x-fc-invocation-type": "Async",
        });
        const requestId = headers["x-fc-request-id"];
        return { requestId: typeof requestId === "string" ? requestId : undefined };
      } catch (error) {
        throw toInvokeError(functionName, error);
      }
    },
  };
}
