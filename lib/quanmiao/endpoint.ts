/** The Quanmiao API origin a user configures, checked before any request is signed for it. */
import { InputError } from "../errors.js";

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

/**
 * Accepts `https://host[:port]`, a bare host name (https is implied), or `http://` to a loopback
 * address for local use. Returns the origin; throws InputError saying what is wrong.
 */
export function parseEndpoint(value: string): URL {
  const text = value.trim();
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`);
  } catch {
    throw new InputError(`endpoint "${value}" is not a URL or host name`);
  }
  if (url.username || url.password) throw new InputError("endpoint must not contain credentials");
  if (url.pathname !== "/" || url.search || url.hash) {
    throw new InputError(`endpoint "${value}" must be an origin only, without a path or query`);
  }
  const loopback = LOOPBACK_HOSTS.has(url.hostname) || /^127\.\d+\.\d+\.\d+$/.test(url.hostname);
  if (url.protocol === "http:" && !loopback) {
    throw new InputError(`endpoint "${value}" must use https (plain http is only for loopback)`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new InputError(`endpoint "${value}" must be an https URL`);
  }
  return url;
}
