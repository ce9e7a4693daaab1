/**
 * The relay's one error model. Every error it raises is a RelayError: it says whether the same
 * operation may succeed later without anyone changing anything (`retryable`), and keeps what caused
 * it (`cause`). The Quanmiao API's errors (quanmiao/errors.ts), configuration, fan-out invocations
 * and the HTTP API's own refusals all derive from it; error-policy.ts maps each class to an HTTP
 * status, an exit code and a log level in one table.
 */

export interface RelayErrorOptions {
  readonly cause?: unknown;
}

export abstract class RelayError extends Error {
  abstract readonly retryable: boolean;

  constructor(message: string, options: RelayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
  }

  /** One line for logs and the CLI. Never credentials. */
  describe(): string {
    return `${this.name}: ${this.message}`;
  }
}

/** Bad input from a caller (API body, CLI argument, an argument to the library): nothing was written. */
export class InputError extends RelayError {
  readonly retryable: boolean = false;
  /** What was wrong (a body field, a CLI option), when one thing was. */
  readonly field: string | undefined;
  /** The message without the field, to say the same of another field (`tasks[3].metadata`). */
  readonly detail: string;

  constructor(message: string, options: RelayErrorOptions & { readonly field?: string | undefined } = {}) {
    super(options.field === undefined ? message : `${options.field}: ${message}`, options);
    this.field = options.field;
    this.detail = message;
  }
}

/**
 * A webhook URL the SSRF guard refuses: `syntax` (not an acceptable URL), `policy` (an address the
 * guard refuses) or `dns` (no address: the only kind that waiting may change).
 */
export class RefusedTargetError extends InputError {
  override readonly retryable: boolean;
  readonly kind: "syntax" | "policy" | "dns";
  /** The guard's own words, without the field. */
  readonly reason: string;
  /**
   * The refused address a host name resolved to: for the operator's log only, since it maps the
   * network's DNS for whoever reads it. Never in the message.
   */
  readonly address: string | undefined;

  constructor(
    reason: string,
    options: RelayErrorOptions & {
      readonly kind: "syntax" | "policy" | "dns";
      readonly field?: string | undefined;
      readonly address?: string | undefined;
    },
  ) {
    super(reason, options);
    this.kind = options.kind;
    this.reason = reason;
    this.address = options.address;
    this.retryable = options.kind === "dns";
  }

  /** The same refusal, said of a named input (`webhooks[0]`, `url`). */
  forField(field: string): RefusedTargetError {
    return new RefusedTargetError(this.reason, {
      kind: this.kind,
      field,
      cause: this.cause,
      address: this.address,
    });
  }
}

/**
 * Input of the right shape whose value the relay cannot accept (a rate limit out of range, a
 * header it cannot send): the API answers 422, since the request parsed and only its meaning is
 * refused.
 */
export class InvalidValueError extends InputError {
  /** The same refusal, said of a field inside a larger request (`body.tasks[3].metadata.a`). */
  within(prefix: string): InvalidValueError {
    const field = this.field === undefined ? prefix : `${prefix}.${this.field}`;
    return new InvalidValueError(this.detail, { field, cause: this.cause });
  }
}

/** A paging cursor that this store did not issue (or that was altered). */
export class InvalidCursorError extends InputError {
  constructor() {
    super("the cursor is not one this store issued");
  }
}

/** What was asked for does not exist. */
export class NotFoundError extends RelayError {
  readonly retryable = false;
}

/** One line for a log or a stored `lastError`: class and message (RelayErrors say more). */
export function describeError(error: unknown): string {
  if (error instanceof RelayError) return error.describe();
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/** Anything thrown, as an Error (a thrown string or object keeps its text). */
export function coerceError(error: unknown): Error {
  if (error instanceof Error) return error;
  return new Error(typeof error === "string" ? error : String(error));
}
