/**
 * Submission records (one per deduplicationId) are deleted once their 72 h window has passed, by a
 * run that polled; an idle run does no more than before. Records an older relay wrote without marks
 * are swept once, a page a run.
 */
import { describe, expect, it, vi } from "vitest";
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

  it("an idle run reads nothing for them; records wait for the next busy run", async () => {
    const { h, submit } = await harness(kind);
    await submit("order-idle");
    h.clock.advance(DEDUPLICATION_WINDOW_MS + 60_000);
    // The submitted task has long ended: once it is seen to, nothing is left to poll.
    const list = vi.spyOn(h.store, "listSettings");
    let summary = await h.tick(5_000);
    while (summary.polled > 0) summary = await h.tick(5_000);
    list.mockClear();
    expect((await h.tick(5_000)).polled).toBe(0);
    expect(list).not.toHaveBeenCalled();
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

    const first = await forgetExpiredSubmissions(h.store, now, 4);
    // Keys in order: legacy-0 … legacy-4, legacy-broken, legacy-fresh.
    expect(first).toEqual({ records: 4, more: true });
    const second = await forgetExpiredSubmissions(h.store, now, 4);
    expect(second).toEqual({ records: 2, more: false });
    expect(await h.store.getSetting(SWEEP_KEY)).toBe("done");
    const left = await h.store.listSettings("submission:", "submission;", 100);
    expect(left.map((s) => s.key)).toEqual([submissionKey(WS, "legacy-fresh")]);
    expect(await h.store.getSetting("signing-secret")).toBe("keep me");

    const get = vi.spyOn(h.store, "getSetting");
    expect(await forgetExpiredSubmissions(h.store, now, 4)).toEqual({ records: 0, more: false });
    expect(get).not.toHaveBeenCalled();
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
    expect(await forgetExpiredSubmissions(h.store, h.clock.now(), 100)).toEqual({ records: 0, more: false });
    expect(await h.store.getSetting("signing-secret")).toBe("keep me");
    expect(await h.store.getSetting(submissionKey(WS, "order-reused"))).toContain(reused.taskId);
    const marks = await h.store.listSettings(SUBMISSION_MARK_PREFIX, `${SUBMISSION_MARK_PREFIX}~`, 100);
    expect(marks.map((m) => m.value)).toEqual([submissionKey(WS, "order-reused")]);
  });
});
