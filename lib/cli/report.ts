/** Turns any error into one clear stderr message and the exit code that goes with its class. */
import { ConfigError } from "../config.js";
import { classifyError, EXIT, errorMessage } from "../error-policy.js";
import { escapeUnsafe } from "../input.js";
import type { CliIo } from "./io.js";
import { RelayAnswerError, RelayUnreachableError } from "./relay-http.js";

export function exitCodeFor(error: unknown): number {
  // The CLI's own calls to a running relay (listen): nothing answering yet may answer later, and a
  // refused token is the relay's auth, as the exit code table says.
  if (error instanceof RelayUnreachableError) return EXIT.retryable;
  if (error instanceof RelayAnswerError) {
    if (error.status === 401 || error.status === 403) return EXIT.auth;
    return error.retryable ? EXIT.retryable : EXIT.failure;
  }
  return classifyError(error).exitCode;
}

export function reportError(io: CliIo, error: unknown): number {
  if (error instanceof ConfigError) {
    // One line per bad variable, each escaped on its own: the breaks are the message's, not a value's.
    const lines = error.problems.map((p) => `  ${escapeUnsafe(p.variable)}: ${escapeUnsafe(p.message)}\n`);
    io.err(`error: invalid configuration:\n${lines.join("")}`);
  } else {
    // Messages may quote what was given (a header, an option): one line, whatever it held.
    io.err(`error: ${escapeUnsafe(errorMessage(error))}\n`);
  }
  return exitCodeFor(error);
}
