/** FC HTTP function: the same API as `quanmiao-relay serve`, behind an HTTP trigger. */
import { createApi } from "../../lib/api/app.js";
import { type FcHttpResponse, fromFcEvent, toFcResponse } from "../../lib/api/fc.js";
import { errorResponse, HttpError } from "../../lib/api/http.js";
import type { Handle } from "../../lib/api/router.js";
import { contextCredentials, type FcContext } from "../../lib/fc/context.js";
import { jsonLog } from "../../lib/log.js";
import { openRelay } from "../../lib/relay.js";

/** One handler with its own relay, opened on first use and kept while the instance lives. */
export function createHandler(env: NodeJS.ProcessEnv = process.env) {
  let api: Promise<Handle> | undefined;
  let context: FcContext | undefined;
  return async function handler(event: unknown, ctx: FcContext): Promise<FcHttpResponse> {
    context = ctx;
    const log = jsonLog((line) => process.stdout.write(line), env.RELAY_LOG_LEVEL);
    api ??= openRelay({ env, credentials: () => contextCredentials(context), log }).then((relay) =>
      // On FC the API is public: without a token it answers every protected route with 401.
      createApi(relay.apiDeps, { tokens: relay.config.api.tokens ?? [], log }),
    );
    api.catch(() => {
      api = undefined; // a bad start is not cached
    });
    const request = fromFcEvent(event);
    if (!("method" in request)) return toFcResponse(request);
    try {
      return toFcResponse(await (await api)(request));
    } catch (error) {
      log({ level: "error", msg: "api start failed", error: error instanceof Error ? error.message : String(error) });
      return toFcResponse(
        errorResponse(new HttpError(503, "not_configured", "the relay could not start; see the function's log")),
      );
    }
  };
}

export const handler = createHandler();
