/** `tick`: one relay run, its summary as JSON on stdout. */
import { loadConfig } from "../config.js";
import { parseDuration } from "../duration.js";
import { InputError } from "../errors.js";
import { resolveCredentials } from "../quanmiao/credentials.js";
import type { CliIo } from "./io.js";
import { withRelay } from "./relay-commands.js";

export async function tickCommand(io: CliIo, options: { budget?: string }): Promise<void> {
  const budgetMs = options.budget === undefined ? undefined : parseDuration(options.budget);
  if (options.budget !== undefined && (budgetMs === undefined || budgetMs < 1_000)) {
    throw new InputError(`--budget "${options.budget}" must be a duration of at least 1s`);
  }
  // No key, no polling: a cron job must fail (exit 3) before the run, not log errors and exit 0 —
  // and before the store is opened, so that a first `tick` without a key leaves no empty database.
  const config = loadConfig(io.env);
  const credentials = resolveCredentials(config.credentials);
  await credentials();
  const summary = await withRelay(
    io,
    async (relay) => {
      // Nor may a store that refuses the key or instance (exit 5), which a run logs and carries on past.
      await relay.store.getSetting("healthz");
      return relay.tick(budgetMs);
    },
    { config, credentials },
  );
  io.out(`${JSON.stringify(summary)}\n`);
}
