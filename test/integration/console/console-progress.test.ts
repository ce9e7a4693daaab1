import { describe, expect, it } from "vitest";
import { buildEvent, deliveriesFor } from "../../../lib/events.js";
import { finishedParts } from "../../../lib/progress-parts.js";
import type { TaskRow } from "../../../lib/store/store.js";
import { apiHarness } from "../../support/api.js";
import { launchChromium } from "../../support/browser.js";
import { column, consolePage, WIDE } from "../../support/console.js";

const WS = "llm-console-progress";

describe("the console shows progress events by their part", () => {
  it("in the events, deliveries and task lists and on a delivery's page; the type filter offers them", async () => {
    const h = await apiHarness({ RELAY_API_TOKEN: "" });
    const { store } = h.relay;
    const hook = await h.call("node", {
      method: "POST",
      path: "/v1/webhooks",
      body: { url: "http://127.0.0.1:9/progress", events: ["video_analysis.progress"] },
    });
    expect(hook.status).toBe(201);
    const { task } = await store.registerTask({ workspaceId: WS, taskId: "t-1", firstPollAtMs: 4e12 }, Date.now());
    // What the poller writes for a RUNNING answer with the captions done (tested end to end elsewhere).
    const [progress] = finishedParts({
      taskStatus: "RUNNING",
      payload: { output: { videoCaptionResult: { generateFinished: true, videoCaptions: [] } } },
    });
    const nowMs = Date.now();
    const event = buildEvent({ type: "video_analysis.progress", task, nowMs, progress, taskStatus: "RUNNING" });
    const webhook = await store.getWebhook(String(hook.json.id));
    const rows = deliveriesFor(event, webhook ? [webhook] : [], task as TaskRow, {
      nowMs,
      firstAttemptAtMs: nowMs + 86_400_000,
    });
    expect(rows).toHaveLength(1);
    await store.createEventWithDeliveries(event, rows);
    const label = "video_analysis.progress · videoCaptionResult";

    const browser = await launchChromium();
    const { page, errors } = await consolePage(browser, WIDE);
    await page.goto(`${h.server.url}/console#/events`);
    await page.waitForSelector("table[aria-label=events] tbody tr:not(.empty)");
    expect(await column(page, "events", "Event")).toEqual([label]);

    await page.goto(`${h.server.url}/console#/deliveries`);
    await page.waitForSelector("table[aria-label=deliveries] tbody tr:not(.empty)");
    expect((await column(page, "deliveries", "Event"))[0]).toContain(label);
    expect(await page.locator("select[name=eventType] option[value='video_analysis.progress']").count()).toBe(1);

    await page.goto(`${h.server.url}/console#/delivery/${rows[0]?.id}`);
    await page.waitForFunction((l) => document.body.textContent?.includes(l), label);

    await page.goto(`${h.server.url}/console#/task/${WS}/t-1`);
    await page.waitForSelector("table[aria-label=events] tbody tr:not(.empty)");
    expect(await column(page, "events", "Event")).toEqual([label]);
    expect(await column(page, "task deliveries", "Event")).toEqual([label]);
    expect(errors).toEqual([]);
  }, 60_000);
});
