import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type CircuitState, CLOSED, circuitKey, transitions } from "../../../lib/delivery/circuit.js";
import { taskTargetId } from "../../../lib/ids.js";
import { apiHarness, subscribeAndFinishTask, TOKEN } from "../../support/api.js";
import { launchChromium } from "../../support/browser.js";
import { tempDir } from "../../support/relay.js";

describe("the operator console, in headless Chromium", () => {
  it("signs in, lists deliveries, replays a dead one and sees it delivered", async () => {
    // One attempt only: a failed delivery is dead at once.
    const h = await apiHarness({ RELAY_RETRY_SCHEDULE: "0" });
    let answer = 503;
    const { rx, taskId } = await subscribeAndFinishTask(h, "llm-console", () => answer);
    const [dead] = (await h.call("node", { method: "GET", path: "/v1/deliveries?status=dead" })).json.items;
    expect(dead?.id).toBeDefined();

    const browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.setDefaultTimeout(10_000);
    await page.goto(`${h.server.url}/console`);

    // Sign in: a wrong token is refused, the right one kept for this tab only.
    await page.fill("#token", "not-the-token-at-all");
    await page.click("#login button[type=submit]");
    await page.waitForSelector("#notice.error");
    expect(await page.textContent("#notice")).toContain("refused");
    await page.fill("#token", TOKEN);
    await page.click("#login button[type=submit]");
    await page.waitForSelector("table[aria-label=deliveries]");

    // Deliveries, filtered to the dead: the failed one is there with its last HTTP status.
    await page.selectOption("select[name=status]", "dead");
    await page.click("form.filters button[type=submit]");
    const row = page.locator("table[aria-label=deliveries] tbody tr", { hasText: dead.id });
    await row.waitFor();
    expect(await row.textContent()).toContain("503");
    expect(await row.textContent()).toContain(`llm-console/${taskId}`);
    expect(await page.locator("table[aria-label=deliveries] tbody tr").count()).toBe(1);

    // Replay it; the endpoint is fixed now; the next run sends it.
    answer = 200;
    await row.getByRole("button", { name: "Replay" }).click();
    await page.waitForSelector("#notice.info");
    await h.relay.tick(5_000);

    // Its page shows it delivered, with both attempts.
    await page.goto(`${h.server.url}/console#/delivery/${dead.id}`);
    await page.waitForSelector("table[aria-label=attempts] tbody tr:nth-child(2)");
    expect(await page.locator("dl").textContent()).toContain("delivered");
    const statuses = await page.locator("table[aria-label=attempts] tbody tr td:nth-child(3)").allTextContents();
    expect(statuses).toEqual(["503", "200"]);
    expect(rx.received.filter((r) => r.verified !== undefined)).toHaveLength(2);

    // Subscriptions: the last 24 hours add up; each shows its rate limit, if it has one.
    const limited = await h.call("node", {
      method: "POST",
      path: "/v1/webhooks",
      body: { url: `${rx.url}/limited`, rateLimitPerSecond: 0.5 },
    });
    expect(limited.status).toBe(201);
    await page.click("nav a[href='#/subscriptions']");
    const hook = page.locator("table[aria-label=subscriptions] tbody tr").first();
    await hook.waitFor();
    expect(await hook.textContent()).toContain("1 ok / 1 failed");
    const rateColumn = (await page.locator("table[aria-label=subscriptions] thead th").allTextContents()).indexOf(
      "Rate limit",
    );
    expect(rateColumn).toBeGreaterThan(0);
    const rates = await page
      .locator(`table[aria-label=subscriptions] tbody tr td:nth-child(${rateColumn + 1})`)
      .allTextContents();
    expect(rates).toEqual(["none", "0.5/s"]);

    // An open circuit stands out, red, with when its probe may go; the 503s left the other closed.
    const config = { failures: 5, cooldownMs: 60_000, cooldownMaxMs: 600_000 };
    const openedAtMs = Math.floor(Date.now() / 1000) * 1000;
    let open: CircuitState = CLOSED;
    for (let i = 0; i < 5; i++) open = transitions.failed(open, openedAtMs, config);
    await h.relay.store.compareAndSetSetting(circuitKey(limited.json.id), undefined, JSON.stringify(open));
    const shown = (ms: number) => new Date(ms).toISOString().replace("T", " ").replace(".000Z", "Z");
    await page.reload();
    await hook.waitFor();
    const circuitColumn = (await page.locator("table[aria-label=subscriptions] thead th").allTextContents()).indexOf(
      "Circuit",
    );
    const circuits = await page
      .locator(`table[aria-label=subscriptions] tbody tr td:nth-child(${circuitColumn + 1})`)
      .allTextContents();
    expect(circuits).toEqual([
      "closed",
      `open until ${shown(openedAtMs + 60_000)} 5 failures, opened ${shown(openedAtMs)}, cool-down 60 s`,
    ]);
    const badge = page.locator("table[aria-label=subscriptions] .circuit.open");
    expect(await badge.evaluate((e) => getComputedStyle(e).backgroundColor)).toBe("rgb(207, 34, 46)");

    // A task's own URL shows its circuit on the task's page.
    const own = "http://127.0.0.1:9/own";
    await h.call("node", {
      method: "POST",
      path: "/v1/tasks",
      body: { workspaceId: "llm-own", taskId: "o1", webhooks: [own] },
    });
    await h.relay.store.compareAndSetSetting(circuitKey(taskTargetId(own)), undefined, JSON.stringify(open));
    await page.goto(`${h.server.url}/console#/task/llm-own/o1`);
    const ownRow = page.locator("table[aria-label='task webhook urls'] tbody tr");
    await ownRow.waitFor();
    expect(await ownRow.textContent()).toContain(`${own}open until ${shown(openedAtMs + 60_000)}`);

    await page.goto(`${h.server.url}/console#/deliveries`);
    await page.waitForSelector("table[aria-label=deliveries] tbody tr");
    const shot = join(process.env.CONSOLE_SCREENSHOT_DIR ?? tempDir(), "console.png");
    await page.screenshot({ path: shot });
    expect(readFileSync(shot).subarray(1, 4).toString()).toBe("PNG");
    expect(errors).toEqual([]);
    // Nothing of the token is kept but in the tab's session storage.
    expect(await page.evaluate(() => [document.cookie, localStorage.length])).toEqual(["", 0]);
  });

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
