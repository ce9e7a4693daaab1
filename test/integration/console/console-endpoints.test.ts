import { describe, expect, it } from "vitest";
import { type CircuitState, CLOSED, circuitKey, transitions } from "../../../lib/delivery/circuit.js";
import { taskTargetId } from "../../../lib/ids.js";
import { apiHarness, subscribeAndFinishTask } from "../../support/api.js";
import { launchChromium } from "../../support/browser.js";
import { column, consolePage, expectFitsWidth, PHONE, WIDE } from "../../support/console.js";

describe("the console's endpoints page, in headless Chromium", () => {
  it("tells a test send's success from its failure, asks before disabling or rotating, and shows a new secret once", async () => {
    const h = await apiHarness({ RELAY_API_TOKEN: "", RELAY_RETRY_SCHEDULE: "0" });
    let answer = 503;
    const { rx, webhookId } = await subscribeAndFinishTask(h, "llm-endpoints", () => answer);
    const browser = await launchChromium();
    const context = await browser.newContext({ viewport: WIDE });
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: h.server.url });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.setDefaultTimeout(10_000);
    await page.goto(`${h.server.url}/console#/endpoints`);
    const row = page.locator("table[aria-label=endpoints] tbody tr", { hasText: rx.url });
    await row.waitFor();
    expect(await column(page, "endpoints", "Last 24 h")).toEqual(["0 ok / 1 failedlast: 503"]);
    expect(await row.textContent()).toContain(webhookId);

    // A test send: a failure in red with why, a success in green.
    await row.getByRole("button", { name: "Send test" }).click();
    await page.waitForSelector("#notice.error");
    expect(await page.textContent("#notice")).toContain("not delivered (HTTP 503)");
    answer = 204;
    await row.getByRole("button", { name: "Send test" }).click();
    await page.waitForSelector("#notice.success");
    expect(await page.textContent("#notice")).toContain("delivered (HTTP 204");
    const colour = (selector: string) => page.locator(selector).evaluate((e) => getComputedStyle(e).backgroundColor);
    expect(await colour("#notice")).toBe("rgb(218, 251, 225)");

    // Rotating asks first; Cancel keeps the secret.
    const dialog = page.locator("dialog#confirm");
    await row.getByRole("button", { name: "Rotate secret" }).click();
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await dialog.waitFor({ state: "detached" });
    expect(await page.locator("section.secret").count()).toBe(0);
    expect((await h.relay.store.getWebhook(webhookId))?.secrets).toHaveLength(1);

    // Confirmed: the new secret, now the endpoint's, shown once and copied by its button.
    await row.getByRole("button", { name: "Rotate secret" }).click();
    await dialog.getByRole("button", { name: "Rotate secret" }).click();
    const panel = page.locator("section.secret");
    await panel.waitFor();
    const secret = await page.locator("#new-secret").inputValue();
    expect(secret).toMatch(/^whsec_/);
    await panel.getByRole("button", { name: "Copy" }).click();
    await panel.getByText("Copied.").waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
    const stored = (await h.relay.store.getWebhook(webhookId))?.secrets.map((s) => s.secret);
    expect(stored).toContain(secret);
    await panel.getByRole("button", { name: "Done" }).click();
    await panel.waitFor({ state: "detached" });
    await page.reload();
    await row.waitFor();
    expect(await page.locator("section.secret").count()).toBe(0);
    expect(await page.content()).not.toContain(secret);

    // Disabling asks first, and then the row says so.
    await row.getByRole("button", { name: "Disable" }).click();
    expect(await dialog.textContent()).toContain(rx.url);
    await dialog.getByRole("button", { name: "Cancel" }).click();
    expect((await h.relay.store.getWebhook(webhookId))?.enabled).toBe(true);
    await row.getByRole("button", { name: "Disable" }).click();
    await dialog.getByRole("button", { name: "Disable" }).click();
    await row.getByRole("button", { name: "Enable" }).waitFor();
    expect(await column(page, "endpoints", "State")).toEqual(["disabledby its owner"]);
    expect((await h.relay.store.getWebhook(webhookId))?.enabled).toBe(false);
    // Enabling is not destructive: one click.
    await row.getByRole("button", { name: "Enable" }).click();
    await row.getByRole("button", { name: "Disable" }).waitFor();

    // Each endpoint shows its rate limit, if it has one.
    const limited = await h.call("node", {
      method: "POST",
      path: "/v1/webhooks",
      body: { url: `${rx.url}/limited`, rateLimitPerSecond: 0.5 },
    });
    expect(limited.status).toBe(201);
    await page.reload();
    await page.locator("table[aria-label=endpoints] tbody tr:nth-child(2)").waitFor();
    expect((await column(page, "endpoints", "Rate limit")).sort()).toEqual(["0.5/s", "none"]);

    // An open circuit stands out, red, with when its probe may go.
    const config = { failures: 5, cooldownMs: 60_000, cooldownMaxMs: 600_000 };
    const openedAtMs = Math.floor(Date.now() / 1000) * 1000;
    let open: CircuitState = CLOSED;
    for (let i = 0; i < 5; i++) open = transitions.failed(open, openedAtMs, config);
    await h.relay.store.compareAndSetSetting(circuitKey(limited.json.id), undefined, JSON.stringify(open));
    const shown = (ms: number) => new Date(ms).toISOString().replace("T", " ").replace(".000Z", "Z");
    await page.reload();
    const limitedRow = page.locator("table[aria-label=endpoints] tbody tr", { hasText: limited.json.id });
    await limitedRow.waitFor();
    const circuits = await column(page, "endpoints", "Circuit");
    expect(circuits.sort()).toEqual(
      [
        "closed",
        `open until ${shown(openedAtMs + 60_000)} 5 failures, opened ${shown(openedAtMs)}, cool-down 60 s`,
      ].sort(),
    );
    const badge = page.locator("table[aria-label=endpoints] .circuit.open");
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

    // The endpoints page fits a phone too.
    const phone = await consolePage(browser, PHONE);
    await phone.page.goto(`${h.server.url}/console#/endpoints`);
    await phone.page.waitForSelector("table[aria-label=endpoints] tbody tr");
    await expectFitsWidth(phone.page);
    expect([...errors, ...phone.errors]).toEqual([]);
  });

  it("shows each endpoint's format, and an EventBridge bus with its region and account, which has no test send", async () => {
    const h = await apiHarness({ RELAY_API_TOKEN: "", FC_REGION: "cn-beijing", FC_ACCOUNT_ID: "1234567890123456" });
    const post = (body: unknown) => h.call("node", { method: "POST", path: "/v1/webhooks", body });
    await post({ url: "http://127.0.0.1:9/plain" });
    await post({ url: "http://127.0.0.1:9/ce", format: "cloudevents-binary" });
    const bus = await post({ eventBridge: { busName: "relay-events" } });
    expect(bus.status).toBe(201);
    const browser = await launchChromium();
    for (const viewport of [WIDE, PHONE]) {
      const { page, errors } = await consolePage(browser, viewport);
      await page.goto(`${h.server.url}/console#/endpoints`);
      await page.locator("table[aria-label=endpoints] tbody tr:nth-child(3)").waitFor();
      const row = (text: string) => page.locator("table[aria-label=endpoints] tbody tr", { hasText: text });
      expect(await row("/plain").textContent()).toContain("Standard Webhooks JSON");
      expect(await row("/ce").textContent()).toContain("cloudevents-binary");
      const busRow = row("eventbus/relay-events");
      expect(await busRow.textContent()).toContain("acs:eventbridge:cn-beijing:1234567890123456:eventbus/relay-events");
      expect(await busRow.textContent()).toContain(
        "EventBridge bus relay-events (cn-beijing, account 1234567890123456), CloudEvents",
      );
      expect(await busRow.getByRole("button", { name: "Send test" }).count()).toBe(0);
      expect(await row("/ce").getByRole("button", { name: "Send test" }).count()).toBe(1);
      await expectFitsWidth(page);
      expect(errors).toEqual([]);
    }
  });
});
