import { join } from "node:path";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { apiHarness } from "../../support/api.js";
import { launchChromium } from "../../support/browser.js";
import { column, consolePage, expectFitsWidth, PHONE, seedHistory, WIDE } from "../../support/console.js";
import { tempDir } from "../../support/relay.js";

async function nextPage(page: Page, table: string): Promise<void> {
  const before = await page.locator(`table[aria-label='${table}'] tbody`).innerHTML();
  await page.getByRole("button", { name: "Next →" }).click();
  await page.waitForFunction(([t, b]) => document.querySelector(`table[aria-label='${t}'] tbody`)?.innerHTML !== b, [
    table,
    before,
  ] as const);
}

/** Every page of a list from the first, by its Next button: one column's values, in order. */
async function allPages(page: Page, table: string, header: string): Promise<string[]> {
  await page.waitForSelector(`table[aria-label='${table}'] tbody tr:not(.empty)`);
  const values: string[] = [];
  for (let p = 1; ; p++) {
    expect(await page.locator(".pager .page").textContent()).toBe(`Page ${p} · newest first`);
    values.push(...(await column(page, table, header)));
    if (await page.getByRole("button", { name: "Next →" }).isDisabled()) return values;
    await nextPage(page, table);
  }
}

describe("the console's lists, with no RELAY_API_TOKEN set", () => {
  it("opens without a sign-in and says why; shows empty lists as empty; pages newest first; fits 1280 and 390 px", async () => {
    const h = await apiHarness({ RELAY_API_TOKEN: "" });
    const shots = process.env.CONSOLE_SCREENSHOT_DIR ?? tempDir();
    const browser = await launchChromium();
    const { page, errors } = await consolePage(browser, WIDE);

    // No token configured: straight in, with the reason on screen, and nothing to sign out of.
    await page.goto(`${h.server.url}/console`);
    await page.waitForSelector("table[aria-label=deliveries]");
    expect(await page.locator("#token").count()).toBe(0);
    expect(await page.locator("#access").textContent()).toContain("No RELAY_API_TOKEN is set");
    expect(await page.locator("#access").textContent()).toContain("loopback only");
    expect(await page.locator("#signout").isVisible()).toBe(false);

    // Empty lists say so, in words, not headers over nothing.
    const emptyText = (table: string) => page.locator(`table[aria-label=${table}] tbody tr.empty`).textContent();
    expect(await emptyText("deliveries")).toContain("No deliveries yet");
    await page.click("#views a[href='#/events']");
    await page.waitForSelector("table[aria-label=events] tr.empty");
    expect(await emptyText("events")).toContain("No events yet");
    await page.click("#views a[href='#/tasks']");
    await page.waitForSelector("table[aria-label=tasks] tr.empty");
    expect(await emptyText("tasks")).toContain("No tasks yet");
    await page.click("#views a[href='#/endpoints']");
    await page.waitForSelector("table[aria-label=endpoints] tr.empty");
    expect(await emptyText("endpoints")).toContain("No endpoints yet");

    // Five tasks, events and deliveries a minute apart, written out of order.
    const hook = await h.call("node", {
      method: "POST",
      path: "/v1/webhooks",
      body: { url: "http://127.0.0.1:9/hook" },
    });
    expect(hook.status).toBe(201);
    const t0 = Date.parse("2026-12-01T08:00:00Z");
    const seeded = await seedHistory(h.relay.store, hook.json, "ws-pages", 5, t0);

    // Deliveries two to a page, newest first, by the API's cursor; Previous goes back.
    await page.goto(`${h.server.url}/console#/deliveries?limit=2`);
    const messages = await allPages(page, "deliveries", "Message");
    expect(messages).toEqual(seeded.deliveries);
    expect(await column(page, "deliveries", "Endpoint")).toEqual(["http://127.0.0.1:9/hook"]);
    const last = seeded.tasks[seeded.deliveries.indexOf(messages.at(-1) as string)];
    expect(await column(page, "deliveries", "Event")).toEqual([`video_analysis.succeededtask ws-pages/${last}`]);
    const at = new Date(t0 + Number(last?.slice(1)) * 60_000).toISOString();
    expect(await column(page, "deliveries", "Time")).toEqual([at.replace("T", " ").replace(".000Z", "Z")]);
    await page.getByRole("button", { name: "← Previous" }).click();
    await page.waitForFunction(() => document.querySelector(".pager .page")?.textContent === "Page 2 · newest first");
    expect(await column(page, "deliveries", "Message")).toEqual(messages.slice(2, 4));
    // The browser's Back button retraces the pages too.
    await page.goBack();
    await page.waitForFunction(() => document.querySelector(".pager .page")?.textContent === "Page 3 · newest first");
    expect(await column(page, "deliveries", "Message")).toEqual(messages.slice(4));

    // The latest failures in one click: the dead and the retrying, newest first, each with why.
    await page.getByRole("link", { name: "Latest failures" }).click();
    await page.waitForFunction(() => document.querySelectorAll("table[aria-label=deliveries] tbody tr").length === 2);
    expect(await column(page, "deliveries", "Message")).toEqual([seeded.deliveries[2], seeded.deliveries[3]]);
    expect(await column(page, "deliveries", "Status")).toEqual(["dead", "retryingnext try 2026-12-01 08:02:00Z"]);
    expect(await column(page, "deliveries", "Last answer")).toEqual(["no answer within 10 s", "HTTP 503"]);

    // Filters that match nothing say that, and how to see everything again.
    await page.goto(`${h.server.url}/console#/deliveries?eventType=video_analysis.failed`);
    await page.waitForSelector("table[aria-label=deliveries] tr.empty");
    expect(await emptyText("deliveries")).toContain("Nothing matches these filters");
    await page.getByRole("link", { name: "Show all" }).click();
    await page.waitForSelector("table[aria-label=deliveries] tbody tr:not(.empty)");

    // Tasks, newest registration first, and events, newest first: paged the same way.
    await page.goto(`${h.server.url}/console#/tasks?limit=2`);
    const tasks = await allPages(page, "tasks", "Task");
    expect(tasks).toEqual(seeded.tasks.map((t) => `ws-pages/${t}`));
    await page.goto(`${h.server.url}/console#/events?limit=2`);
    const events = await allPages(page, "events", "Event id");
    expect(events).toEqual(seeded.events);
    // From an event to its deliveries (here, one message to the one endpoint).
    await page
      .locator("table[aria-label=events] tbody tr")
      .first()
      .getByRole("link", { name: "Its deliveries" })
      .click();
    await page.waitForFunction(() => location.hash.startsWith("#/deliveries?eventId="));
    await page.waitForSelector("table[aria-label=deliveries] tbody tr:not(.empty)");
    expect(await column(page, "deliveries", "Message")).toEqual([seeded.deliveries.at(-1)]);

    // Every filter has a label a person reads, the date too.
    await page.goto(`${h.server.url}/console#/deliveries`);
    await page.waitForSelector("form.filters");
    for (const label of ["Status", "Event type", "Endpoint", "Created since", "Rows per page"])
      expect(await page.getByLabel(label, { exact: true }).count(), label).toBe(1);
    expect(await page.getByLabel("Endpoint", { exact: true }).textContent()).toContain("http://127.0.0.1:9/hook");
    const unlabelled = () =>
      page.$$eval("main input, main select", (controls) =>
        controls.filter((c) => !c.id || !document.querySelector(`label[for="${c.id}"]`)).map((c) => c.outerHTML),
      );
    expect(await unlabelled()).toEqual([]);
    for (const view of ["events", "tasks"]) {
      await page.goto(`${h.server.url}/console#/${view}`);
      await page.waitForFunction((v) => document.querySelector("main h1")?.textContent?.toLowerCase() === v, view);
      expect(await unlabelled(), view).toEqual([]);
    }
    expect(await page.getByLabel("Workspace", { exact: true }).count()).toBe(1);

    // Both widths: nothing sticks out sideways; the phone gets one card per delivery.
    await page.goto(`${h.server.url}/console#/deliveries?limit=4`);
    await page.waitForSelector("table[aria-label=deliveries] tbody tr:not(.empty)");
    await expectFitsWidth(page);
    await page.screenshot({ path: join(shots, "console-1280.png"), fullPage: true });
    const phone = await consolePage(browser, PHONE);
    await phone.page.goto(`${h.server.url}/console#/deliveries?limit=4`);
    await phone.page.waitForSelector("table[aria-label=deliveries] tbody tr:not(.empty)");
    await expectFitsWidth(phone.page);
    // Each value is named beside it on a phone, where the header row is out of sight.
    const firstCellLabel = (p: Page) =>
      p
        .locator("table[aria-label=deliveries] tbody td")
        .first()
        .evaluate((td) => getComputedStyle(td, "::before").content);
    expect(await firstCellLabel(phone.page)).toBe('"Time"');
    expect(await firstCellLabel(page)).toBe("none");
    // The phone shows the rows first: the filters fold away until asked for.
    const status = phone.page.getByLabel("Status", { exact: true });
    expect(await status.isVisible()).toBe(false);
    await phone.page.locator(".filter-box summary").click();
    await status.waitFor();
    await phone.page.locator(".filter-box summary").click();
    await phone.page.screenshot({ path: join(shots, "console-390.png"), fullPage: true });
    for (const view of ["endpoints", "tasks", "events", `delivery/${seeded.deliveries[0]}`, "task/ws-pages/t1"]) {
      await phone.page.goto(`${h.server.url}/console#/${view}`);
      await phone.page.waitForSelector("main table");
      await expectFitsWidth(phone.page);
    }
    expect([...errors, ...phone.errors]).toEqual([]);
  });
});
