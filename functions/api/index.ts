/** FC HTTP function: the same API as `quanmiao-relay serve`, behind an HTTP trigger. */
import { createApi } from "../../lib/api/app.js";
import { type FcHttpResponse, fromFcEvent, toFcResponse } from "../../lib/api/fc.js";
import { errorResponse, HttpError } from "../../lib/api/http.js";
import type { Env } from "../../lib/config.js";
import { describeError } from "../../lib/errors.js";
import type { FcContext } from "../../lib/fc/context.js";
import { instanceRelay } from "../../lib/fc/instance-relay.js";

/** One handler with its own relay, opened on first use and kept while the instance lives. */
export function createHandler(env: Env = process.env) {
  // On FC the API is public: without a token it answers every protected route with 401.
  const instance = instanceRelay(env, (relay, log) => createApi(relay, { tokens: relay.config.api.tokens ?? [], log }));
  return async function handler(event: unknown, ctx: FcContext): Promise<FcHttpResponse> {
    const request = fromFcEvent(event);
    if (!("method" in request)) return toFcResponse(request);
    let api: Awaited<ReturnType<typeof instance.open>>;
    try {
      api = await instance.open(ctx);
    } catch (error) {
      instance.log({ level: "error", msg: "api start failed", error: describeError(error) });
      return toFcResponse(
        errorResponse(new HttpError(503, "not_configured", "the relay could not start; see the function's log")),
      );
    }
    return toFcResponse(await api(request));
  };
}

export const handler = createHandler();
