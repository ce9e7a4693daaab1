import { afterEach, describe, expect, it, vi } from "vitest";
import { systemClock } from "../../lib/clock.js";
import type { AttemptResult, WebhookSender } from "../../lib/delivery/send.js";
import { sendSigned } from "../../lib/delivery/signed-send.js";
import { newSecret } from "../../lib/secrets.js";

// The quick retries' schedule, on fake timers. A real cut connection retried inside an attempt is
// covered end to end in test/integration/relay/polling.test.ts; here the sender is scripted so the
// schedule itself can be read off.
afterEach(() => {
  vi.useRealTimers();
});

function result(over: Partial<AttemptResult>): AttemptResult {
  return {
    statusCode: undefined,
    error: undefined,
    connectionError: false,
    excerpt: undefined,
    retryAfterMs: undefined,
    durationMs: 1,
    ...over,
  };
}
const CUT = result({ failure: "connection", error: "ECONNRESET: socket hang up", connectionError: true });
const OK = result({ statusCode: 204, excerpt: "" });

function scripted(answers: AttemptResult[]) {
  const calls: Array<{ atMs: number; signature: string | undefined }> = [];
  const sender = {
    async send(attempt: { headers: Readonly<Record<string, string>> }) {
      calls.push({ atMs: Date.now(), signature: attempt.headers["webhook-signature"] });
      return answers[Math.min(calls.length - 1, answers.length - 1)] as AttemptResult;
    },
  } as unknown as WebhookSender;
  return { sender, calls };
}

async function send(sender: WebhookSender, quickRetries?: number, beforeRetry?: () => Promise<boolean>) {
  const message = { url: "http://127.0.0.1:9/hook", msgId: "msg_1", body: "{}", secrets: [{ secret: newSecret() }] };
  const pending = sendSigned(message, {
    clock: systemClock,
    sender,
    allowPrivateTargets: true,
    quickRetries,
    beforeRetry,
  });
  await vi.runAllTimersAsync();
  return pending;
}

describe("sendSigned quick retries", () => {
  it("makes one request when the first answers, whatever the answer", async () => {
    vi.useFakeTimers();
    for (const answer of [OK, result({ statusCode: 500, excerpt: "" }), result({ failure: "timeout", error: "t" })]) {
      const { sender, calls } = scripted([answer]);
      expect(await send(sender)).toEqual(answer);
      expect(calls).toHaveLength(1);
    }
  });

  it("retries a connection error 100 ms, then 200 ms later, and returns the first answer", async () => {
    vi.useFakeTimers();
    const { sender, calls } = scripted([CUT, CUT, OK]);
    const started = Date.now();
    expect(await send(sender)).toEqual(OK);
    expect(calls.map((c) => c.atMs - started)).toEqual([0, 100, 300]);
    // Every try is signed on its own.
    expect(calls.every((c) => c.signature?.startsWith("v1,"))).toBe(true);
  });

  it("gives back the last connection error once the quick retries are spent", async () => {
    vi.useFakeTimers();
    const { sender, calls } = scripted([CUT]);
    expect(await send(sender, 2)).toEqual(CUT);
    expect(calls).toHaveLength(3);
  });

  it("stops retrying once the tries so far took a second in all: a slow cut is no blip", async () => {
    vi.useFakeTimers();
    const slowCut = { ...CUT, durationMs: 1_200 };
    const first = scripted([slowCut, OK]);
    expect(await send(first.sender, 2)).toEqual(slowCut);
    expect(first.calls).toHaveLength(1);
    // 600 ms, then another 600 ms: the second try brings the total past a second, so no third.
    const halfCut = { ...CUT, durationMs: 600 };
    const second = scripted([halfCut, halfCut, OK]);
    expect(await send(second.sender, 2)).toEqual(halfCut);
    expect(second.calls).toHaveLength(2);
  });

  it("asks before each retry (a rate limit's slot): a retry it refuses is not made", async () => {
    vi.useFakeTimers();
    const asked: number[] = [];
    const started = Date.now();
    const slot = async () => {
      asked.push(Date.now() - started);
      // A slot 50 ms on, waited for, the first time; none after that.
      if (asked.length > 1) return false;
      await new Promise((r) => setTimeout(r, 50));
      return true;
    };
    const { sender, calls } = scripted([CUT, CUT, OK]);
    expect(await send(sender, 2, slot)).toEqual(CUT);
    expect(asked).toEqual([100, 350]);
    expect(calls.map((c) => c.atMs - started)).toEqual([0, 150]);
  });

  it("makes one try with quick retries off", async () => {
    vi.useFakeTimers();
    const { sender, calls } = scripted([CUT, OK]);
    expect(await send(sender, 0)).toEqual(CUT);
    expect(calls).toHaveLength(1);
  });

  it("counts the host's lookup against the attempt's time, and ends a lookup that never answers at that time", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date", "performance"] });
    const asked: Array<number | undefined> = [];
    const sender = {
      timeoutMs: 1_000,
      async send(attempt: { timeoutMs?: number }) {
        asked.push(attempt.timeoutMs);
        return OK;
      },
    } as unknown as WebhookSender;
    const message = {
      url: "http://hooks.example.test/h",
      msgId: "msg_1",
      body: "{}",
      secrets: [{ secret: newSecret() }],
    };
    const slowLookup = (ms: number) => () =>
      new Promise<Array<{ address: string; family: 4 }>>((resolve) =>
        setTimeout(() => resolve([{ address: "127.0.0.1", family: 4 }]), ms),
      );
    const via = (resolve: () => Promise<Array<{ address: string; family: 4 }>>) => {
      const pending = sendSigned(message, { clock: systemClock, sender, allowPrivateTargets: true, resolve });
      void vi.runAllTimersAsync();
      return pending;
    };

    // 400 ms of lookup leave the request 600 ms, and the attempt is said to have lasted 401.
    const answered = await via(slowLookup(400));
    expect(asked).toEqual([600]);
    expect(answered).toMatchObject({ statusCode: 204, durationMs: 401 });

    const never = await via(() => new Promise(() => {}));
    expect(asked).toHaveLength(1);
    expect(never).toMatchObject({
      statusCode: undefined,
      failure: "dns",
      error: "could not resolve hooks.example.test within 1000 ms",
      durationMs: 1_000,
    });
  });
});
