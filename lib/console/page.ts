/**
 * The operator console's one page: HTML, CSS, and the browser script (app.ts and its parts)
 * inline, so it is one request, served the same by `npm start`, `serve` and the FC api function,
 * with no asset files to find at run time. The page holds no data; everything comes from the API.
 */
import { createHash } from "node:crypto";
import { VERSION } from "../version.js";
import { consoleApp } from "./app.js";
import { consoleDetails } from "./details.js";
import { consoleEndpoints } from "./endpoints.js";
import { consoleKit } from "./kit.js";
import { consoleLists } from "./lists.js";
import { CONSOLE_CSS } from "./style.js";

/**
 * What a bundler that keeps function names (the FC bundles: esbuild's keepNames) calls inside these
 * functions: `__name(fn, "name")`, renamed by the minifier to whatever it chose. The browser needs a
 * stand-in under that very name, read here from a call it made for the kit's own `el`.
 */
const KEEP_NAMES = /([\w$]+)\(\s*[\w$]+\s*,\s*"el"\s*\)/.exec(consoleKit.toString())?.[1] ?? "__name";

/** The script as the browser gets it: the app called with its parts, each sent as its source text. */
const SCRIPT = `var ${KEEP_NAMES} = function (f) { return f; };
(${consoleApp.toString()})({
kit: ${consoleKit.toString()},
lists: ${consoleLists.toString()},
details: ${consoleDetails.toString()},
endpoints: ${consoleEndpoints.toString()}
});`;

/**
 * The page's Content-Security-Policy. Scripts run only when they hash to the page's own script,
 * hashed here from the very string the page embeds: markup injected into the page (an inline
 * `<script>`, an `onerror` attribute) does not run, and no nonce needs keeping per response.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  `script-src 'sha256-${createHash("sha256").update(SCRIPT, "utf8").digest("base64")}'`,
  "style-src 'unsafe-inline'",
  "connect-src 'self'",
  "frame-ancestors 'none'",
].join("; ");

export const CONSOLE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>quanmiao-relay console</title>
<style>${CONSOLE_CSS}</style>
</head>
<body>
<header>
<strong>quanmiao-relay</strong>
<nav id="views" aria-label="Views" hidden>
<a href="#/deliveries">Deliveries</a><a href="#/events">Events</a><a href="#/tasks">Tasks</a><a href="#/endpoints">Endpoints</a>
</nav>
<button id="signout" type="button" hidden>Sign out</button>
<small>${VERSION}</small>
</header>
<p id="access" role="note" hidden></p>
<p id="notice" role="status"></p>
<main></main>
<script>${SCRIPT}</script>
</body>
</html>
`;
