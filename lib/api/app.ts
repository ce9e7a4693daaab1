/** The API as one function: the route table behind the router. */
import type { Log } from "../log.js";
import { createRouter, type Handle } from "./router.js";
import { type ApiDeps, apiRoutes } from "./routes.js";

export function createApi(
  deps: ApiDeps,
  options: { tokens: readonly string[] | undefined; log?: Log | undefined },
): Handle {
  return createRouter(apiRoutes(deps), options);
}
