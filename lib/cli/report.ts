/** Turns any error into one clear stderr message and the exit code that goes with its class. */
import { classifyError, errorMessage } from "../error-policy.js";
import { escapeUnsafe } from "../input.js";
import type { CliIo } from "./io.js";

export function exitCodeFor(error: unknown): number {
  return classifyError(error).exitCode;
}

export function reportError(io: CliIo, error: unknown): number {
  // Messages may quote what was given (a header, an option): one line, whatever it held.
  io.err(`error: ${escapeUnsafe(errorMessage(error))}\n`);
  return exitCodeFor(error);
}
