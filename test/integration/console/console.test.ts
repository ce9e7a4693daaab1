import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { apiHarness, subscribeAndFinishTask, TOKEN } from "../../support/api.js";
import { launchChromium } from "../../support/browser.js";
import { column, consolePage, WIDE } from "../../support/console.js";
import { tempDir } from "../../support/relay.js";

describe("the operator console with RELAY_API_TOKEN set, in headless Chromium", () => {
  it("signs in only with a good token, shows the latest failures, replays one after a confirmation, and labels each attempt", async () => {
    // One attempt only: a failed delivery is dead at once.
    const h = await apiHarness({ RELAY_RETRY_SCHEDULE: "0" });
    let answer = 503;
    const { rx, taskId } = await subscribeAndFinishTask(h, "llm-console", () => answer);
    const [dead] = (await h.call("node", { method: "GET", path: "/v1/deliveries?status=dead" })).json.items;
    expect(dead?.id).toMatch(/^msg_/);

    const browser = await launchChromium();
    const { page, errors } = await consolePage(browser, WIDE);
    await page.goto(`${h.server.url}/console`);

    // A token is configured: the console asks for it, says why, and lets nothing else in.
    await page.waitForSelector("#token");
    expect(await page.locator("#login .hint").textContent()).toContain("RELAY_API_TOKEN is set");
    expect(await page.locator("#views").isVisible()).toBe(false);
    await page.click("#login button[type=submit]");
    await page.waitForFunction(() => document.querySelector("#login-error")?.textContent !== "");
    expect(await page.textContent("#login-error")).toContain("Enter the API token");
    await page.fill("#token", "not-the-token-at-all");
    await page.click("#login button[type=submit]");
    await page.waitForFunction(() => document.querySelector("#login-error")?.textContent?.includes("refused"));
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    expect(await page.locator("table").count()).toBe(0);
    await page.fill("#token", TOKEN);
    await page.click("#login button[type=submit]");
    await page.waitForSelector("table[aria-label=deliveries]");
    expect(await page.locator("#access").isVisible()).toBe(false);

    // The latest failures in one click: the dead delivery, with its answer, endpoint and task.
    await page.getByRole("link", { name: "Latest failures" }).click();
    const row = page.locator("table[aria-label=deliveries] tbody tr", { hasText: dead.id });
    await row.waitFor();
    expect(await page.locator("table[aria-label=deliveries] tbody tr").count()).toBe(1);
    expect(await column(page, "deliveries", "Last answer")).toEqual(["HTTP 503"]);
    expect(await column(page, "deliveries", "Status")).toEqual(["dead"]);
    expect(await column(page, "deliveries", "Endpoint")).toEqual([rx.url]);
    expect(await row.textContent()).toContain(`llm-console/${taskId}`);
    expect(await page.getByLabel("Status", { exact: true }).inputValue()).toBe("failed");

    // Replay asks first; Cancel leaves the delivery as it was.
    await row.getByRole("button", { name: "Replay" }).click();
    const dialog = page.locator("dialog#confirm");
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain(dead.id);
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await dialog.waitFor({ state: "detached" });
    const still = await h.call("node", { method: "GET", path: `/v1/deliveries/${dead.id}` });
    expect(still.json.status).toBe("dead");

    // Confirmed, it is due again; the endpoint is fixed now; the next run sends it.
    answer = 200;
    await row.getByRole("button", { name: "Replay" }).click();
    await dialog.getByRole("button", { name: "Replay" }).click();
    await page.waitForSelector("#notice.success");
    expect(await page.textContent("#notice")).toContain(`Replaying message ${dead.id}`);
    await h.relay.tick(5_000);

    // Its page: delivered, each attempt labelled by its outcome (a 200 is a success).
    await page.goto(`${h.server.url}/console#/delivery/${dead.id}`);
    await page.waitForSelector("table[aria-label=attempts] tbody tr:nth-child(2)");
    expect(await page.locator("dl").textContent()).toContain("delivered");
    expect(await page.locator("dl").textContent()).toContain(`Message${dead.id}`);
    expect(await column(page, "attempts", "HTTP status")).toEqual(["503", "200"]);
    expect(await column(page, "attempts", "Outcome")).toEqual(["failed: HTTP 503", "success"]);
    expect(rx.received.filter((r) => r.verified !== undefined)).toHaveLength(2);
    const shots = process.env.CONSOLE_SCREENSHOT_DIR ?? tempDir();
    await page.screenshot({ path: join(shots, "console-delivery.png") });

    // The task's page names its delivery by message id, with its endpoint.
    await page.goto(`${h.server.url}/console#/task/llm-console/${taskId}`);
    await page.waitForSelector("table[aria-label='task deliveries'] tbody tr");
    expect(await column(page, "task deliveries", "Message")).toEqual([dead.id]);
    expect(await column(page, "task deliveries", "Endpoint")).toEqual([rx.url]);

    await page.goto(`${h.server.url}/console#/deliveries`);
    await page.waitForSelector("table[aria-label=deliveries] tbody tr:not(.empty)");
    const shot = join(shots, "console.png");
    await page.screenshot({ path: shot });
    expect(readFileSync(shot).subarray(1, 4).toString()).toBe("PNG");

    // A token the API stops taking sends the tab back to the sign-in, saying so.
    await page.evaluate(() => sessionStorage.setItem("quanmiao-relay-token", "an-old-token-0123456789"));
    await page.click("#views a[href='#/tasks']");
    await page.waitForSelector("#token");
    expect(await page.textContent("#login-error")).toContain("refused the token this tab kept");
    expect(errors).toEqual([]);
    // Nothing of the token is kept but in the tab's session storage.
    expect(await page.evaluate(() => [document.cookie, localStorage.length])).toEqual(["", 0]);
  });
});
