/**
 * Submission records (one per deduplicationId) are deleted once their 72 h window has passed, by a
 * run that polled; an idle run does no more than before. Records an older relay wrote without marks
 * are swept once, a page a run.
 */
import { describe, expect, it, vi } from "vitest";
import type { Store } from "../../../lib/store/store.js";
import { forgetExpiredSubmissions, SWEEP_KEY } from "../../../lib/submission-expiry.js";
import {
  DEDUPLICATION_WINDOW_MS,
  SUBMISSION_MARK_PREFIX,
  submissionKey,
  submissionMarkKey,
  submitAndRegister,
} from "../../../lib/submissions.js";
import { relayHarness, type StoreKind } from "../../support/relay.js";

const WS = "llm-expiry";
const HOUR = 3_600_000;
const video = (name: string) => ({ videoUrl: `https://videos.example/${name}.mp4` });

/** Records deleted by one pass. */
async function forget(store: Store, nowMs: number, limit: number): Promise<number> {
  let records = 0;
  await forgetExpiredSubmissions(store, nowMs, limit, () => records++);
  return records;
}

async function harness(store: StoreKind) {
  const h = await relayHarness({ store });
  const registration = {
    store: h.store,
    clock: h.clock,
    poll: h.config.poll,
    allowPrivateTargets: h.config.delivery.allowPrivateTargets,
  };
  const submit = (deduplicationId: string, name = deduplicationId) =>
    submitAndRegister(
      { registration, client: h.deps.client },
      { workspaceId: WS, deduplicationId, request: video(name) },
    );
  const marks = async () =>
    (await h.store.listSettings(SUBMISSION_MARK_PREFIX, `${SUBMISSION_MARK_PREFIX}~`, 100)).map((m) => m.value);
  return { h, submit, marks };
}

describe.each<StoreKind>(["sqlite", "tablestore"])("submission records on %s", (kind) => {
  it("a busy run deletes the records past their window with their marks, and keeps the rest", async () => {
    const { h, submit, marks } = await harness(kind);
    const old = await submit("order-1");
    h.clock.advance(48 * HOUR);
    const recent = await submit("order-2");
    expect(await marks()).toEqual([submissionKey(WS, "order-1"), submissionKey(WS, "order-2")]);

    h.clock.advance(24 * HOUR + 60_000);
    // Keeps a task running, so that the run polls.
    await h.register({ workspaceId: WS, taskId: h.sim.addTask(WS, { runMs: 10 * HOUR }).taskId });
    const summary = await h.tick(5_000);
    expect(summary.polled).toBeGreaterThan(0);
    expect(summary.submissionsForgotten).toBe(1);
    expect(await h.store.getSetting(submissionKey(WS, "order-1"))).toBeUndefined();
    expect(await marks()).toEqual([submissionKey(WS, "order-2")]);

    // The forgotten id is free: another request with it is a new submission, not a conflict.
    const anew = await submit("order-1", "another-video");
    expect(anew.created).toBe(true);
    expect(anew.taskId).not.toBe(old.taskId);
    // The one within its window still answers with its task.
    const repeat = await submit("order-2");
    expect(repeat).toMatchObject({ created: false, taskId: recent.taskId });
  });

  it("an idle run reads nothing for them; an expired record waits for the next busy run", async () => {
    const { h } = await harness(kind);
    const key = submissionKey(WS, "order-idle");
    await h.store.compareAndSetSetting(submissionMarkKey(h.clock.now(), key), undefined, key);
    await h.store.compareAndSetSetting(key, undefined, JSON.stringify({ atMs: h.clock.now(), fingerprint: "f" }));
    h.clock.advance(DEDUPLICATION_WINDOW_MS + 60_000);
    const list = vi.spyOn(h.store, "listSettings");
    expect((await h.tick(5_000)).polled).toBe(0);
    expect(list).not.toHaveBeenCalled();
    expect(await h.store.getSetting(key)).toBeDefined();

    await h.register({ workspaceId: WS, taskId: h.sim.addTask(WS, { runMs: HOUR }).taskId });
    expect((await h.tick(5_000)).submissionsForgotten).toBe(1);
    expect(await h.store.getSetting(key)).toBeUndefined();
  });

  it("a store that fails midway harms no run: the failure is counted, and the next busy run deletes what is left", async () => {
    const { h, submit, marks } = await harness(kind);
    await submit("order-a");
    await submit("order-b");
    h.clock.advance(DEDUPLICATION_WINDOW_MS + 60_000);
    await h.register({ workspaceId: WS, taskId: h.sim.addTask(WS, { runMs: 10 * HOUR }).taskId });
    const remove = h.store.deleteSetting.bind(h.store);
    let failed = 0;
    vi.spyOn(h.store, "deleteSetting").mockImplementation(async (key, expected) => {
      if (key.startsWith("submission:") && failed++ === 0) throw new Error("the store is busy");
      return remove(key, expected);
    });
    const first = await h.tick(5_000);
    expect(first.polled).toBeGreaterThan(0);
    expect(first.errors).toBe(1);
    expect(first.submissionsForgotten).toBe(1);
    expect(await marks()).toHaveLength(1);
    // The next run that polls: the running task's next poll is due within the maximum interval.
    h.clock.advance(h.config.poll.intervalMaxMs);
    const second = await h.tick(5_000);
    expect(second.polled).toBeGreaterThan(0);
    expect(second.errors).toBe(0);
    expect(second.submissionsForgotten).toBe(1);
    expect(await marks()).toEqual([]);
    expect(await h.store.listSettings("submission:", "submission;", 10)).toEqual([]);
  });

  it("a submission the API refused leaves a marked record, deleted once its window has passed", async () => {
    const { h, submit, marks } = await harness(kind);
    vi.spyOn(h.deps.client, "submitTask").mockRejectedValueOnce(new Error("the API is down"));
    await expect(submit("order-refused")).rejects.toThrow("the API is down");
    expect(await marks()).toEqual([submissionKey(WS, "order-refused")]);
    expect(await h.store.getSetting(submissionKey(WS, "order-refused"))).toBeDefined();
    h.clock.advance(DEDUPLICATION_WINDOW_MS + 60_000);
    expect(await forget(h.store, h.clock.now(), 100)).toBe(1);
    expect(await marks()).toEqual([]);
    expect(await h.store.getSetting(submissionKey(WS, "order-refused"))).toBeUndefined();
  });

  it("a repeat after the window, while the expired record is being deleted, is a new submission, not a conflict", async () => {
    const { h, submit } = await harness(kind);
    const first = await submit("order-race");
    h.clock.advance(DEDUPLICATION_WINDOW_MS + 60_000);
    const key = submissionKey(WS, "order-race");
    const write = h.store.compareAndSetSetting.bind(h.store);
    let raced = false;
    vi.spyOn(h.store, "compareAndSetSetting").mockImplementation(async (k, expected, value) => {
      // Between the repeat's read of the expired record and its write over it.
      if (k === key && !raced) {
        raced = true;
        expect(await forget(h.store, h.clock.now(), 100)).toBe(1);
      }
      return write(k, expected, value);
    });
    const again = await submit("order-race", "another-video");
    expect(raced).toBe(true);
    expect(again.created).toBe(true);
    expect(again.taskId).not.toBe(first.taskId);
  });

  it("sweeps records written without marks (an older relay's) once, a page at a time, then never reads them again", async () => {
    const { h } = await harness(kind);
    const now = h.clock.now();
    const record = (atMs: number) => JSON.stringify({ atMs, fingerprint: "f", taskId: "t" });
    for (let i = 0; i < 5; i++)
      await h.store.compareAndSetSetting(submissionKey(WS, `legacy-${i}`), undefined, record(now - 100 * HOUR));
    await h.store.compareAndSetSetting(submissionKey(WS, "legacy-fresh"), undefined, record(now - HOUR));
    await h.store.compareAndSetSetting(submissionKey(WS, "legacy-broken"), undefined, "{not json");
    await h.store.compareAndSetSetting("signing-secret", undefined, "keep me");

    // Keys in order: legacy-0 … legacy-4, legacy-broken, legacy-fresh.
    expect(await forget(h.store, now, 4)).toBe(4);
    expect(await h.store.getSetting(SWEEP_KEY)).not.toBe("done");
    expect(await forget(h.store, now, 4)).toBe(2);
    expect(await h.store.getSetting(SWEEP_KEY)).toBe("done");
    const left = await h.store.listSettings("submission:", "submission;", 100);
    expect(left.map((s) => s.key)).toEqual([submissionKey(WS, "legacy-fresh")]);
    expect(await h.store.getSetting("signing-secret")).toBe("keep me");

    const get = vi.spyOn(h.store, "getSetting");
    expect(await forget(h.store, now, 4)).toBe(0);
    expect(get).not.toHaveBeenCalled();
    // The one still within its window was marked as it was swept: deleted when its window passes.
    expect(await forget(h.store, now + DEDUPLICATION_WINDOW_MS, 4)).toBe(1);
    expect(await h.store.getSetting(submissionKey(WS, "legacy-fresh"))).toBeUndefined();
  });

  it("ids as long as allowed (256 characters of 3 bytes each) are kept by a hash: a Tablestore key holds 1 KB", async () => {
    const { h } = await harness(kind);
    const registration = {
      store: h.store,
      clock: h.clock,
      poll: h.config.poll,
      allowPrivateTargets: h.config.delivery.allowPrivateTargets,
    };
    const body = { workspaceId: "w".repeat(256), deduplicationId: "視".repeat(256), request: video("long") };
    const first = await submitAndRegister({ registration, client: h.deps.client }, body);
    const again = await submitAndRegister({ registration, client: h.deps.client }, body);
    expect(again).toMatchObject({ created: false, taskId: first.taskId });
    const key = submissionKey(body.workspaceId, body.deduplicationId);
    expect(key).toMatch(/^submission:#[0-9a-f]{64}$/);
    h.clock.advance(DEDUPLICATION_WINDOW_MS + 60_000);
    expect(await forget(h.store, h.clock.now(), 100)).toBe(1);
    expect(await h.store.getSetting(key)).toBeUndefined();
  });

  it("a mark is trusted to name a submission record and nothing else; a record written again since is kept", async () => {
    const { h, submit } = await harness(kind);
    const t0 = h.clock.now();
    await h.store.compareAndSetSetting("signing-secret", undefined, "keep me");
    await h.store.compareAndSetSetting(submissionMarkKey(t0, "signing-secret"), undefined, "signing-secret");
    // A record reused after its window: its old mark is past, its record is not.
    await submit("order-reused");
    h.clock.advance(DEDUPLICATION_WINDOW_MS + 60_000);
    const reused = await submit("order-reused", "second-video");
    expect(reused.created).toBe(true);

    h.clock.advance(60_000);
    expect(await forget(h.store, h.clock.now(), 100)).toBe(0);
    expect(await h.store.getSetting("signing-secret")).toBe("keep me");
    expect(await h.store.getSetting(submissionKey(WS, "order-reused"))).toContain(reused.taskId);
    const marks = await h.store.listSettings(SUBMISSION_MARK_PREFIX, `${SUBMISSION_MARK_PREFIX}~`, 100);
    expect(marks.map((m) => m.value)).toEqual([submissionKey(WS, "order-reused")]);
    // A mark's key is short whatever the ids: a Tablestore key holds 1 KB.
    const longest = submissionKey("w".repeat(256), "視".repeat(256));
    expect(Buffer.byteLength(submissionMarkKey(t0, longest))).toBeLessThan(80);
  });
});
