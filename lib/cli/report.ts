/** Turns any error into one clear stderr message and the exit code that goes with its class. */

import { type CliIo, EXIT } from "../cli.js";
import { ConfigError } from "../config.js";
import { InvalidCursorError, InvalidInputError, NotFoundError } from "../errors.js";
import {
  AuthError,
  CredentialsError,
  InvalidArgumentError,
  MalformedResponseError,
  QuanmiaoError,
  TaskNotFoundError,
  ThrottledError,
  TransientError,
} from "../quanmiao/errors.js";

export function exitCodeFor(error: unknown): number {
  if (
    error instanceof InvalidArgumentError ||
    error instanceof InvalidInputError ||
    error instanceof InvalidCursorError
  ) {
    return EXIT.usage;
  }
  if (error instanceof NotFoundError) return EXIT.notFound;
  if (error instanceof ConfigError || error instanceof CredentialsError) return EXIT.config;
  if (error instanceof TaskNotFoundError) return EXIT.notFound;
  if (error instanceof AuthError) return EXIT.auth;
  if (error instanceof TransientError || error instanceof ThrottledError || error instanceof MalformedResponseError) {
    return EXIT.retryable;
  }
  return EXIT.failure;
}

export function reportError(io: CliIo, error: unknown): number {
  let text: string;
  if (error instanceof InvalidArgumentError) text = `error: ${error.message}`;
  else if (error instanceof QuanmiaoError) text = `error: ${error.describe()}`;
  else if (error instanceof ConfigError) text = `error: ${error.message}`;
  else text = `error: ${error instanceof Error ? error.message : String(error)}`;
  io.err(`${text}\n`);
  return exitCodeFor(error);
}
