/** Errors of the relay's own operations (the Quanmiao API's are in quanmiao/errors.ts). */

/** Bad input from a caller: nothing was written. */
export class InvalidInputError extends Error {
  readonly retryable = false;
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = "InvalidInputError";
  }
}

/** A webhook URL the SSRF guard refuses (an address policy or DNS answer, not its spelling). */
export class RefusedTargetError extends InvalidInputError {
  constructor(field: string, message: string) {
    super(field, message);
    this.name = "RefusedTargetError";
  }
}

export class NotFoundError extends Error {
  readonly retryable = false;
  constructor(message: string) {
    super(message);
    this.name = "NotFoundError";
  }
}

/** A paging cursor that this store did not issue (or that was altered). */
export class InvalidCursorError extends Error {
  readonly retryable = false;
  constructor() {
    super("the cursor is not one this store issued");
    this.name = "InvalidCursorError";
  }
}
