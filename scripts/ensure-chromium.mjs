// Before `npm test`: the console's browser test drives Debian's Chromium (never assumed to be
// there). Installs the `chromium` package with apt-get when it is missing and this runs as root;
// otherwise says how to provide it. RELAY_TEST_CHROMIUM names another Chromium to use instead.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";

const path = process.env.RELAY_TEST_CHROMIUM ?? "/usr/bin/chromium";
if (existsSync(path)) process.exit(0);
const apt = ["/usr/bin/apt-get", "/bin/apt-get"].find((p) => existsSync(p));
if (!apt || process.getuid?.() !== 0) {
  process.stderr.write(
    `The browser test needs Chromium at ${path}. Install Debian's package (sudo apt-get install chromium),\n` +
      "or point RELAY_TEST_CHROMIUM at a Chromium or Chrome binary.\n",
  );
  process.exit(1);
}
process.stdout.write("Installing Debian's chromium for the console's browser test…\n");
const run = (...args) =>
  execFileSync(apt, args, { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
try {
  run("install", "-y", "--no-install-recommends", "chromium");
} catch {
  // A fresh machine's package lists may be empty or stale.
  run("update");
  run("install", "-y", "--no-install-recommends", "chromium");
}
