import { afterEach, describe, expect, it, vi } from "vitest";
import { Deadline, withDeadline } from "../../lib/deadline.js";

afterEach(() => {
  vi.useRealTimers();
});

describe("Deadline", () => {
  it("aborts once, at its time, with a TimeoutError reason as AbortSignal.timeout does", () => {
    vi.useFakeTimers();
    const deadline = new Deadline(1_000);
    const aborts: unknown[] = [];
    deadline.on("abort", () => aborts.push(deadline.reason));
    vi.advanceTimersByTime(999);
    expect(deadline.aborted).toBe(false);
    expect(deadline.reason).toBeUndefined();
    vi.advanceTimersByTime(1);
    expect(deadline.aborted).toBe(true);
    expect(aborts).toHaveLength(1);
    expect(deadline.reason).toBeInstanceOf(DOMException);
    expect((deadline.reason as DOMException).name).toBe("TimeoutError");
    expect((deadline.reason as DOMException).message).toBe("the request took longer than 1000 ms");
    vi.advanceTimersByTime(10_000);
    expect(aborts).toHaveLength(1);
  });

  it("never fires once cleared", () => {
    vi.useFakeTimers();
    const deadline = new Deadline(1_000);
    const abort = vi.fn();
    deadline.on("abort", abort);
    deadline.clear();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(5_000);
    expect(abort).not.toHaveBeenCalled();
    expect(deadline.aborted).toBe(false);
  });

  it("withDeadline leaves no timer behind, whether the work resolves or throws", async () => {
    vi.useFakeTimers();
    await expect(withDeadline(1_000, async () => "done")).resolves.toBe("done");
    expect(vi.getTimerCount()).toBe(0);
    await expect(
      withDeadline(1_000, async () => {
        throw new Error("refused");
      }),
    ).rejects.toThrow("refused");
    expect(vi.getTimerCount()).toBe(0);
  });

  it("hands the work a deadline that is still running", async () => {
    vi.useFakeTimers();
    let seen: Deadline | undefined;
    await withDeadline(250, async (signal) => {
      seen = signal;
      expect(signal.ms).toBe(250);
      expect(signal.aborted).toBe(false);
      expect(vi.getTimerCount()).toBe(1);
    });
    expect(seen?.aborted).toBe(false);
  });

  it("withDeadline ends at the deadline even when the work never settles, with the deadline's reason", async () => {
    vi.useFakeTimers();
    const ended = withDeadline(1_000, () => new Promise<never>(() => {})).then(
      () => "resolved",
      (error: unknown) => error,
    );
    await vi.advanceTimersByTimeAsync(999);
    let settled = false;
    void ended.then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const error = await ended;
    expect((error as DOMException).name).toBe("TimeoutError");
    expect(vi.getTimerCount()).toBe(0);
  });
});
