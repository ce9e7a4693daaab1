import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { apiHarness } from "../../support/api.js";
import { launchChromium } from "../../support/browser.js";

describe("the operator console's Content-Security-Policy", () => {
  it("runs its own script and nothing else: the CSP names that script's hash, not 'unsafe-inline'", async () => {
    const h = await apiHarness();
    const served = await h.call("node", { method: "GET", path: "/console", auth: false });
    const csp = served.headers["content-security-policy"] ?? "";
    const scriptSrc = csp
      .split(";")
      .map((d) => d.trim())
      .find((d) => d.startsWith("script-src "));
    expect(scriptSrc).toBeDefined();
    expect(scriptSrc).not.toContain("'unsafe-inline'");
    expect(scriptSrc).not.toContain("'unsafe-eval'");
    const scripts = [...served.text.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1] as string);
    expect(scripts).toHaveLength(1);
    const hash = createHash("sha256")
      .update(scripts[0] as string)
      .digest("base64");
    expect(scriptSrc).toBe(`script-src 'sha256-${hash}'`);
    // The FC function serves the same page under the same policy.
    expect(
      (await h.call("fc", { method: "GET", path: "/console", auth: false })).headers["content-security-policy"],
    ).toBe(csp);

    // The page as an attacker who got markup into it would have it, under the header it was served with.
    const browser = await launchChromium();
    const page = await browser.newPage();
    const refused: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error" && /Content Security Policy/.test(m.text())) refused.push(m.text());
    });
    page.setDefaultTimeout(10_000);
    await page.route(`${h.server.url}/console`, async (route) => {
      const response = await route.fetch();
      const injected = `<script>window.injected = "script";</script><img src="data:," onerror="window.injected = 'handler'">`;
      const body = (await response.text()).replace("<main></main>", `<main></main>${injected}`);
      expect(body).toContain(injected);
      await route.fulfill({ response, body });
    });
    await page.goto(`${h.server.url}/console`);
    // Its own script ran: it drew the sign-in form.
    await page.waitForSelector("#token");
    expect(await page.evaluate(() => (window as unknown as { injected?: string }).injected)).toBeUndefined();
    expect(refused.length).toBeGreaterThanOrEqual(2);
  });
});
