/** What every command shares: where its output goes, and the exit codes scripts branch on. */
import type { Env } from "../config.js";

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  readonly env: Env;
  /** Whether stdout is a terminal: tables and progress bars then, plain lines otherwise. */
  readonly isTTY?: boolean;
  /** Resolves when a long-running command (simulator) should stop; default: SIGINT or SIGTERM. */
  readonly stopSignal?: Promise<void>;
  /** The folder whose running sandbox a command acts on (cli/sandbox.ts); default: the working directory. */
  readonly sandboxDir?: string;
}

export { EXIT } from "../error-policy.js";

export function processIo(): CliIo {
  return {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    env: process.env,
    isTTY: process.stdout.isTTY === true,
  };
}
