import { createRequire } from "node:module";

// The same module runs from lib/ (tests) and from dist/lib/ (the built CLI): look in both places.
function readVersion(): string {
  const require = createRequire(import.meta.url);
  for (const candidate of ["../package.json", "../../package.json"]) {
    try {
      const pkg = require(candidate) as { name?: string; version?: string };
      if (pkg.name === "quanmiao-relay" && pkg.version) return pkg.version;
    } catch {
      // not at this depth
    }
  }
  return "0.0.0";
}

/** Set by the bundler for the FC bundles, which have no package.json beside them. */
declare const __RELAY_VERSION__: string | undefined;

export const VERSION: string = typeof __RELAY_VERSION__ === "string" ? __RELAY_VERSION__ : readVersion();
export const USER_AGENT = `quanmiao-relay/${VERSION}`;
