#!/usr/bin/env node
// Runs the compiled CLI (dist/ is built by `npm ci` / `npm install` through the prepare script).
let cli;
try {
  cli = await import("../dist/lib/cli.js");
} catch (error) {
  if (error?.code !== "ERR_MODULE_NOT_FOUND" || !String(error.message).includes("dist/lib/cli.js")) throw error;
  process.stderr.write("quanmiao-relay is not built yet: run `npm run build` (npm ci does it too).\n");
  process.exit(1);
}
process.exitCode = await cli.main(process.argv.slice(2), cli.processIo());
