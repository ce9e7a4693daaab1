/**
 * What Tablestore answered instead of a result, apart from the client (which loads undici): the
 * error table (lib/error-policy.ts) names these classes, and the CLI loads that table for `--help`.
 */
import { RelayError } from "../../../errors.js";

/** What the service (or the way to it) answered instead of a result. */
export class TablestoreError extends RelayError {
  readonly retryable: boolean;
  constructor(
    readonly operation: string,
    /** The HTTP status; undefined when no answer came (network, timeout). */
    readonly status: number | undefined,
    /** The service's error code, e.g. OTSConditionCheckFail. */
    readonly code: string | undefined,
    message: string,
    options: { cause?: unknown; requestId?: string | undefined; retryable?: boolean } = {},
  ) {
    const id = options.requestId ? ` (request ${options.requestId})` : "";
    super(`${operation}: ${code ? `${code}: ` : ""}${message}${id}`, options);
    this.retryable =
      options.retryable ?? (status === undefined || status === 409 || status >= 500 || RETRYABLE_CODES.has(code ?? ""));
  }
}

/**
 * The service refused the relay's AccessKey, its signature, or the instance (not there, or not the
 * key's): a setting to fix, not a fault of the relay's (the CLI exits 5).
 */
export class TablestoreAuthError extends TablestoreError {
  constructor(...[operation, status, code, message, options]: ConstructorParameters<typeof TablestoreError>) {
    const hint = "Tablestore refused the relay: check ALIBABA_CLOUD_ACCESS_KEY_ID/_SECRET and TABLESTORE_INSTANCE";
    super(operation, status, code, `${message.replace(/\.$/, "")} (${hint})`, options);
  }
}

export const AUTH_CODES = new Set(["OTSAuthFailed", "OTSNoPermissionAccess"]);

// Retryable although answered with a 4xx (the service's error table says retry).
const RETRYABLE_CODES = new Set([
  "OTSRowOperationConflict",
  "OTSNotEnoughCapacityUnit",
  "OTSQuotaExhausted",
  "OTSRequestTimeout",
]);

/** A table the relay needs is not there: `init` creates them (the CLI exits 3, a setup step missing). */
export class TablestoreMissingTableError extends TablestoreError {
  constructor(...[operation, status, code, message, options]: ConstructorParameters<typeof TablestoreError>) {
    super(
      operation,
      status,
      code,
      `${message.replace(/\.$/, "")} (run \`quanmiao-relay init\` to create the tables)`,
      options,
    );
  }
}
