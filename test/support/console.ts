/** The console in headless Chromium: a page at a given width, and a relay history with known times. */
import type { Browser, Page } from "playwright-core";
import { expect } from "vitest";
import { deliveryId, eventId } from "../../lib/ids.js";
import type { Store } from "../../lib/store/store.js";

export const WIDE = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/** A page that fails the test on any script error (checked by `expectNoErrors`). */
export async function consolePage(browser: Browser, viewport: { width: number; height: number }) {
  const page = await browser.newPage({ viewport });
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.setDefaultTimeout(10_000);
  return { page, errors };
}

/** Nothing sticks out sideways: the page scrolls only down, at this width. */
export async function expectFitsWidth(page: Page): Promise<void> {
  const { scroll, width } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    width: document.documentElement.clientWidth,
  }));
  expect(scroll).toBeLessThanOrEqual(width);
}

/** The text of one column of a table, by its header's text (the page's own layout may hide headers). */
export async function column(page: Page, table: string, header: string): Promise<string[]> {
  const headers = await page.locator(`table[aria-label='${table}'] thead th`).allTextContents();
  const i = headers.indexOf(header);
  expect(i, `${table} has a ${header} column`).toBeGreaterThanOrEqual(0);
  return page.locator(`table[aria-label='${table}'] tbody tr td:nth-child(${i + 1})`).allTextContents();
}

export interface History {
  /** Task ids, newest first. */
  readonly tasks: string[];
  /** Delivery (message) ids, newest first. */
  readonly deliveries: string[];
  /** Event ids, newest first. */
  readonly events: string[];
}

/** What became of the i-th delivery: its attempt, if it had one, by the store's own update. */
const OUTCOMES = [
  { status: "delivered", code: 204 },
  { status: "pending", code: 503 },
  { status: "dead", code: undefined },
  undefined,
] as const;

/**
 * `count` finished tasks, each with its event and one delivery to `webhook`, a minute apart from
 * `t0`, written in a scrambled order: only creation times can put them newest first. By index mod
 * 4 a delivery was delivered, is retrying after a 503, is dead after a timeout, or is not tried yet.
 */
export async function seedHistory(
  store: Store,
  webhook: { id: string; url: string },
  workspaceId: string,
  count: number,
  t0: number,
): Promise<History> {
  const order = Array.from({ length: count }, (_, i) => (i * 3) % count);
  expect(new Set(order).size).toBe(count); // count must not be a multiple of 3
  for (const i of order) {
    const at = t0 + i * 60_000;
    const taskId = `t${i}`;
    const type = "video_analysis.succeeded";
    await store.registerTask({ workspaceId, taskId, firstPollAtMs: at + 86_400_000 }, at);
    const evt = eventId(workspaceId, taskId, type);
    const body = {
      type,
      timestamp: new Date(at).toISOString(),
      data: { workspaceId, taskId, taskStatus: "SUCCESSED" },
    };
    await store.createEvent({ id: evt, type, workspaceId, taskId, body: JSON.stringify(body), createdAtMs: at });
    const id = deliveryId(evt, webhook.id);
    const outcome = OUTCOMES[i % OUTCOMES.length];
    const lease = outcome ? { leaseOwner: "seed", leaseUntilMs: at + 1_000 } : {};
    await store.createDeliveries([
      {
        id,
        eventId: evt,
        webhookId: webhook.id,
        url: webhook.url,
        nextAttemptAtMs: outcome ? at + 1_000 : at + 86_400_000,
        createdAtMs: at,
        eventType: type,
        ...lease,
      },
    ]);
    const claimed = await store.getDelivery(id);
    if (!outcome || !claimed) continue;
    const attempt = {
      atMs: at + 200,
      durationMs: 180,
      statusCode: outcome.code,
      ...(outcome.code === undefined ? { failure: "timeout", error: "no answer within 10 s" } : {}),
    };
    const updated = await store.updateDelivery(claimed, "seed", {
      status: outcome.status,
      attempts: 1,
      nextAttemptAtMs: at + 60_000,
      lastAttemptAtMs: attempt.atMs,
      lastStatusCode: outcome.code,
      lastError: attempt.error,
      lastResponse: undefined,
      deliveredAtMs: outcome.status === "delivered" ? attempt.atMs : undefined,
      attemptLog: [attempt],
    });
    expect(updated).toBe(true);
  }
  const newest = Array.from({ length: count }, (_, k) => count - 1 - k);
  return {
    tasks: newest.map((i) => `t${i}`),
    events: newest.map((i) => eventId(workspaceId, `t${i}`, "video_analysis.succeeded")),
    deliveries: newest.map((i) => deliveryId(eventId(workspaceId, `t${i}`, "video_analysis.succeeded"), webhook.id)),
  };
}
