/**
 * The operator console's one page: HTML, a little CSS, and the browser script (app.ts) inline, so
 * it is one request, served the same by `npm start`, `serve` and the FC api function, with no
 * asset files to find at run time. The page holds no data; everything comes from the API with the
 * token the operator signs in with.
 */
import { createHash } from "node:crypto";
import { VERSION } from "../version.js";
import { consoleApp } from "./app.js";

const CSS = `
:root { font: 14px/1.45 system-ui, sans-serif; color: #1f2328; background: #f6f8fa; }
body { margin: 0; }
header { display: flex; gap: 1.5rem; align-items: center; padding: .6rem 1.2rem; background: #1f2328; color: #fff; }
header strong { font-size: 1.05rem; }
nav a { color: #d0d7de; margin-right: 1rem; text-decoration: none; }
nav a.current { color: #fff; border-bottom: 2px solid #4ac26b; }
#signout { margin-left: auto; }
main { padding: 1rem 1.2rem; }
h1 { font-size: 1.3rem; margin: .2rem 0 1rem; }
h2 { font-size: 1.05rem; margin-top: 1.4rem; }
table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid #d0d7de; }
th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid #eaeef2; vertical-align: top; }
th { background: #f0f3f6; font-weight: 600; }
td code { white-space: pre-wrap; word-break: break-all; font-size: 12px; }
.filters { display: flex; gap: .5rem; margin-bottom: .8rem; flex-wrap: wrap; }
.actions { display: flex; gap: .3rem; flex-wrap: wrap; }
button { font: inherit; padding: .2rem .6rem; border: 1px solid #8c959f; border-radius: 4px; background: #fff; cursor: pointer; }
button[disabled] { opacity: .5; }
#notice { margin: 0 1.2rem; padding: .4rem .6rem; border-radius: 4px; }
#notice:empty { display: none; }
#notice.info { background: #ddf4ff; }
#notice.error { background: #ffebe9; }
#login { max-width: 22rem; margin: 4rem auto; display: grid; gap: .5rem; background: #fff; padding: 1.5rem; border: 1px solid #d0d7de; border-radius: 6px; }
.hint { color: #59636e; font-size: 12px; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; background: #fff; padding: .8rem; border: 1px solid #d0d7de; }
dt { font-weight: 600; }
.circuit { padding: 0 .35rem; border-radius: 3px; white-space: nowrap; }
.circuit.open { background: #cf222e; color: #fff; font-weight: 600; }
.circuit.probing { background: #fff8c5; }
`;

/**
 * The script as the browser gets it. A bundler that keeps function names (the FC bundles) wraps
 * inner functions in `__name(...)`: the browser gets a harmless stand-in for it.
 */
const SCRIPT = `var __name = function (f) { return f; };\n(${consoleApp.toString()})();`;

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
<style>${CSS}</style>
</head>
<body>
<header>
<strong>quanmiao-relay</strong>
<nav hidden>
<a href="#/deliveries">Deliveries</a><a href="#/subscriptions">Subscriptions</a><a href="#/tasks">Tasks</a>
</nav>
<button id="signout" type="button">Sign out</button>
<small>${VERSION}</small>
</header>
<p id="notice" role="status"></p>
<main></main>
<script>${SCRIPT}</script>
</body>
</html>
`;
