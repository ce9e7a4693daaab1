/** The API as one function: the route table behind the router. */
import type { Log } from "../log.js";
import type { ApiDeps } from "./deps.js";
import { createRouter, type Handle } from "./router.js";
import { apiRoutes } from "./routes/index.js";

export function createApi(
  deps: ApiDeps,
  options: { tokens: readonly string[] | undefined; log?: Log | undefined },
): Handle {
  return createRouter(apiRoutes(deps), { ...options, allowedHosts: deps.config.api.allowedHosts });
}
