/** Turns any error into one clear stderr message and the exit code that goes with its class. */
import { ConfigError } from "../config.js";
import { classifyError, errorMessage } from "../error-policy.js";
import { escapeUnsafe } from "../input.js";
import type { CliIo } from "./io.js";

export function exitCodeFor(error: unknown): number {
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
