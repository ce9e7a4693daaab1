/** `serve`: the HTTP API on node:http, until Ctrl-C. */
import { createApi } from "../api/app.js";
import { isLoopback, serveApi } from "../api/node-server.js";
import { ConfigError } from "../config.js";
import { InputError } from "../errors.js";
import type { Relay } from "../relay.js";
import type { CliIo } from "./io.js";
import { withRelay } from "./relay-commands.js";
import { untilSignal } from "./signals.js";

/** Starts the API for a relay; refuses to run without a token unless bound to loopback with noAuth. */
export async function startApi(relay: Relay, options: { port: number; host: string; noAuth: boolean }) {
  const tokens = relay.config.api.tokens;
  if (!tokens && !(options.noAuth && isLoopback(options.host))) {
    throw new ConfigError([
      {
        variable: "RELAY_API_TOKEN",
        message: "is not set: set it (comma-separated for rotation), or serve on loopback with --no-auth",
      },
    ]);
  }
  const handle = createApi(relay, { tokens, log: relay.log });
  return serveApi(handle, { port: options.port, host: options.host, log: relay.log });
}

export async function serveCommand(io: CliIo, options: { port?: string; host: string; auth: boolean }): Promise<void> {
  await withRelay(io, async (relay) => {
    const port = options.port === undefined ? relay.config.api.port : Number(options.port);
    if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new InputError("--port must be 0 to 65535");
    const server = await startApi(relay, { port, host: options.host, noAuth: !options.auth });
    io.out(`${server.url}\n`);
    io.err(
      `quanmiao-relay API on ${server.url}/v1 (${relay.config.api.tokens ? "bearer token required" : "NO AUTH: loopback only"}). Ctrl-C stops it.\n`,
    );
    await (io.stopSignal ?? untilSignal());
    await server.close();
  });
}
