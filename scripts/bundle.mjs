// Bundles each FC function into dist/<fn>/index.js: one CommonJS file per function, Node 20, with a
// source map and only what that function imports. better-sqlite3 stays out: on FC the store is
// Tablestore, so the SQLite store is replaced by a stub that says so.
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { build } from "esbuild";

/** The SQLite store (and with it better-sqlite3) is swapped for a stub that says why. */
const withoutSqlite = {
  name: "without-sqlite",
  setup(b) {
    b.onResolve({ filter: /^\.\/sqlite\.js$/ }, (args) =>
      args.importer.endsWith("open.ts")
        ? { path: new URL("../lib/store/sqlite-unavailable.ts", import.meta.url).pathname }
        : undefined,
    );
  },
};

/**
 * @alicloud/fc2 loads ali-oss (code upload), axios (STS refresh for uploads) and ws (instance exec)
 * at the top of its client, and with them about 1 MB of dependencies. Fan-out only invokes, which
 * needs none of them: they are replaced by a module that throws if anything ever calls it.
 */
const FC2_UNUSED = /^(ali-oss|axios|ws)$/;
const withoutFc2Extras = {
  name: "without-fc2-extras",
  setup(b) {
    b.onResolve({ filter: FC2_UNUSED }, (args) =>
      args.importer.includes("/node_modules/@alicloud/fc2/") ? { path: args.path, namespace: "fc2-unused" } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "fc2-unused" }, (args) => ({
      contents: `const fail = () => { throw new Error(${JSON.stringify(`${args.path} is not in this bundle: the relay only invokes functions`)}); };
module.exports = new Proxy(fail, { get: (_, key) => (key === "__esModule" ? false : fail), construct: fail });`,
      loader: "js",
    }));
  },
};

/**
 * The relay's own modules use undici's Pool and Agent (and Dispatcher's request API) only. Its
 * index also loads fetch, WebSocket, EventSource, the cache and mocks — and with them Node's own
 * web streams — about a third of a function's cold start. In the bundles `undici` is the dispatchers
 * alone, assembled the way undici's index assembles them; anything else imported from it is an error.
 */
const UNDICI_ALL = Object.keys(createRequire(import.meta.url)("undici"));
const undiciDispatchersOnly = {
  name: "undici-dispatchers-only",
  setup(b) {
    b.onResolve({ filter: /^undici$/ }, (args) =>
      args.importer.includes("/node_modules/") ? undefined : { path: "undici", namespace: "undici-dispatchers" },
    );
    b.onLoad({ filter: /.*/, namespace: "undici-dispatchers" }, () => ({
      contents: `const Dispatcher = require("undici/lib/dispatcher/dispatcher");
Object.assign(Dispatcher.prototype, require("undici/lib/api"));
const used = { Dispatcher, Pool: require("undici/lib/dispatcher/pool"), Agent: require("undici/lib/dispatcher/agent") };
const left = new Set(${JSON.stringify(UNDICI_ALL)});
module.exports = new Proxy(used, {
  get(target, key) {
    if (key in target || !left.has(key)) return target[key];
    throw new Error("undici." + String(key) + " is not in this bundle (scripts/bundle.mjs)");
  },
});`,
      resolveDir: new URL("..", import.meta.url).pathname,
      loader: "js",
    }));
  },
};

const FUNCTIONS = ["poll", "deliver", "api"];
const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));

for (const fn of FUNCTIONS) {
  const outdir = `dist/${fn}`;
  mkdirSync(outdir, { recursive: true });
  await build({
    entryPoints: [`functions/${fn}/index.ts`],
    outfile: `${outdir}/index.js`,
    bundle: true,
    platform: "node",
    target: "node20",
    // CommonJS, not ESM: the tablestore SDK relies on sloppy mode (it assigns undeclared variables),
    // which an ES module's strictness turns into ReferenceErrors.
    format: "cjs",
    sourcemap: true,
    minify: true,
    keepNames: true,
    legalComments: "none",
    plugins: [withoutSqlite, withoutFc2Extras, undiciDispatchersOnly],
    // Our modules read import.meta.url (createRequire); in CommonJS it comes from __filename.
    define: { __RELAY_VERSION__: JSON.stringify(version), "import.meta.url": "__relayModuleUrl" },
    banner: { js: 'const __relayModuleUrl = require("node:url").pathToFileURL(__filename).href;' },
    logLevel: "warning",
  });
  // Explicit, so that no package.json further up can make Node read the bundle as an ES module.
  writeFileSync(`${outdir}/package.json`, `${JSON.stringify({ type: "commonjs" })}\n`);
  const kib = (statSync(`${outdir}/index.js`).size / 1024).toFixed(0);
  process.stdout.write(`dist/${fn}/index.js  ${kib} KiB\n`);
}
