import { describe, expect, it } from "vitest";
import type { ResolvedAddress } from "../../../lib/delivery/guard.js";
import { SystemLookups } from "../../../lib/delivery/system-lookups.js";
import { RefusedTargetError } from "../../../lib/errors.js";

const A: ResolvedAddress[] = [{ address: "192.0.2.1", family: 4 }];

/** A resolver whose names under `.black` never answer, and each other name answers when released. */
function fakeResolver() {
  const asked: string[] = [];
  const answers = new Map<string, () => void>();
  const lookup = (hostname: string) => {
    asked.push(hostname);
    return new Promise<ResolvedAddress[]>((resolve) => {
      if (!hostname.endsWith(".black")) answers.set(hostname, () => resolve(A));
    });
  };
  return { asked, lookup, answer: (hostname: string) => answers.get(hostname)?.() };
}

describe("SystemLookups", () => {
  it("runs at most its share of lookups at once: names that never answer cannot take the whole pool", async () => {
    const dns = fakeResolver();
    const lookups = new SystemLookups({ lookup: dns.lookup, now: () => 0, maxInFlight: 2 });
    for (let i = 0; i < 5; i++) void lookups.resolve(`h${i}.black`);
    await Promise.resolve();
    expect(dns.asked).toEqual(["h0.black", "h1.black"]);
    expect(lookups.inFlight).toBe(2);
  });

  it("a name answered lately is not looked up again, so a known subscriber never queues behind strangers", async () => {
    let nowMs = 0;
    const dns = fakeResolver();
    const lookups = new SystemLookups({ lookup: dns.lookup, now: () => nowMs, maxInFlight: 2, ttlMs: 30_000 });
    const first = lookups.resolve("hooks.example");
    dns.answer("hooks.example");
    expect(await first).toEqual(A);
    for (let i = 0; i < 4; i++) void lookups.resolve(`h${i}.black`);
    nowMs = 29_999;
    expect(await lookups.resolve("hooks.example")).toEqual(A);
    expect(dns.asked.filter((h) => h === "hooks.example")).toHaveLength(1);
    // Past its time it is looked up again, and waits its turn like any other.
    nowMs = 30_000;
    void lookups.resolve("hooks.example");
    await Promise.resolve();
    expect(dns.asked.filter((h) => h === "hooks.example")).toHaveLength(1);
  });

  it("one lookup per name at a time, shared by everyone asking; a failure is not kept", async () => {
    let fail = true;
    const asked: string[] = [];
    const lookups = new SystemLookups({
      lookup: async (hostname) => {
        asked.push(hostname);
        await new Promise((resolve) => setTimeout(resolve, 5));
        if (fail) throw Object.assign(new Error("getaddrinfo ENOTFOUND"), { code: "ENOTFOUND" });
        return A;
      },
      now: () => 0,
    });
    const three = [lookups.resolve("a.example"), lookups.resolve("a.example"), lookups.resolve("a.example")];
    for (const p of three) await expect(p).rejects.toThrow(/ENOTFOUND/);
    expect(asked).toEqual(["a.example"]);
    fail = false;
    expect(await lookups.resolve("a.example")).toEqual(A);
    expect(asked).toEqual(["a.example", "a.example"]);
  });

  it("a slot passes to the next waiting lookup when one ends, and past the waiting bound a lookup is refused at once", async () => {
    const dns = fakeResolver();
    const lookups = new SystemLookups({ lookup: dns.lookup, now: () => 0, maxInFlight: 1, maxWaiting: 2 });
    const first = lookups.resolve("one.example");
    const second = lookups.resolve("two.example");
    void lookups.resolve("h.black");
    await expect(lookups.resolve("four.example")).rejects.toThrow(
      new RefusedTargetError(
        "could not resolve four.example: 2 host name lookups are already waiting for the resolver",
        {
          kind: "dns",
        },
      ),
    );
    dns.answer("one.example");
    await first;
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(dns.asked).toEqual(["one.example", "two.example"]);
    expect(lookups.inFlight).toBe(1);
    dns.answer("two.example");
    await second;
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(dns.asked).toEqual(["one.example", "two.example", "h.black"]);
  });
});
