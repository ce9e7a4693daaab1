/**
 * Headless Chromium from Debian's `chromium` package (npm test installs it first: see
 * scripts/ensure-chromium.mjs), driven by playwright-core. The flags keep it off the network but
 * for the loopback page under test.
 */
import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";
import { onTestFinished } from "vitest";

export const CHROMIUM = process.env.RELAY_TEST_CHROMIUM ?? "/usr/bin/chromium";

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `no Chromium at ${CHROMIUM}: run npm test (it installs Debian's chromium), or set RELAY_TEST_CHROMIUM`,
    );
  }
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  // playwright gives the browser a fresh profile of its own, removed when it closes.
  onTestFinished(() => browser.close());
  return browser;
}
