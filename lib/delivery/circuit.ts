/**
 * A circuit per endpoint: after `failures` timeouts or connection failures in a row, the endpoint's
 * due deliveries are deferred for a cool-down (doubling from `cooldownMs` to `cooldownMaxMs`), then
 * a single probe decides: an answer closes the circuit, another failure reopens it for longer.
 *
 * The state is a setting per endpoint, changed only by compare-and-set, so every run and process
 * on either store agrees on it, and only the one that wins the change from open to probing sends
 * the probe: an open circuit costs one attempt per cool-down, however many runs see it.
 *
 * A deferral is not an attempt: the delivery keeps its place in the retry schedule. The 5-day
 * disable rule is untouched (deliver.ts): a failing probe counts as a failure there too.
 */
import type { Clock } from "../clock.js";
import type { Store } from "../store/store.js";
import type { FailureClass } from "./send.js";

export interface CircuitConfig {
  /** Timeouts or connection failures in a row that open the circuit. */
  readonly failures: number;
  readonly cooldownMs: number;
  readonly cooldownMaxMs: number;
}

/** What is stored per endpoint; a missing setting is a closed circuit with no failures. */
export interface CircuitState {
  /** Timeouts or connection failures since the last answer. */
  readonly failures: number;
  /** Set while open: no attempt before then, and after it one probe. */
  readonly openUntilMs?: number | undefined;
  /** The cool-down that set `openUntilMs`: the next one doubles it. */
  readonly cooldownMs?: number | undefined;
  /** When it opened (after a probe fails it stays the first opening). */
  readonly openedAtMs?: number | undefined;
  /** True from the moment one runner took the probe until the probe's outcome is written. */
  readonly probing?: boolean | undefined;
}

export const CLOSED: CircuitState = { failures: 0 };

/** The failures that say nobody is answering: an HTTP answer of any status does not count. */
export const CIRCUIT_FAILURES: ReadonlySet<FailureClass> = new Set(["timeout", "connection", "tls", "dns"]);

export const circuitKey = (endpoint: string) => `circuit:${endpoint}`;

export function parseCircuit(text: string | undefined): CircuitState {
  if (text === undefined) return CLOSED;
  try {
    const v = JSON.parse(text) as Partial<CircuitState>;
    const num = (x: unknown) => (typeof x === "number" && Number.isFinite(x) ? x : undefined);
    return {
      failures: num(v.failures) ?? 0,
      openUntilMs: num(v.openUntilMs),
      cooldownMs: num(v.cooldownMs),
      openedAtMs: num(v.openedAtMs),
      probing: v.probing === true ? true : undefined,
    };
  } catch {
    // A setting this code did not write: start closed rather than refuse to deliver.
    return CLOSED;
  }
}

export const isOpen = (s: CircuitState) => s.openUntilMs !== undefined;

/** What a runner may do with an endpoint's delivery now. */
export type Gate = { readonly go: true; readonly probe: boolean } | { readonly go: false; readonly untilMs: number };

/** The pure transitions; `CircuitBreakers` stores them. */
export const transitions = {
  /** A timeout or connection failure: one more in the row, and the circuit opens at the threshold. */
  failed(s: CircuitState, nowMs: number, config: CircuitConfig): CircuitState {
    if (isOpen(s)) {
      // A probe that failed, or an attempt that was already in flight when the circuit opened.
      if (!s.probing) return s;
      const cooldownMs = Math.min(config.cooldownMaxMs, (s.cooldownMs ?? config.cooldownMs) * 2);
      return { failures: s.failures + 1, openUntilMs: nowMs + cooldownMs, cooldownMs, openedAtMs: s.openedAtMs };
    }
    const failures = s.failures + 1;
    if (failures < config.failures) return { failures };
    return { failures, openUntilMs: nowMs + config.cooldownMs, cooldownMs: config.cooldownMs, openedAtMs: nowMs };
  },
  /**
   * A refusal more requests will not change (EventBridge's auth failures): open at once, without
   * waiting for a streak; a probe refused again reopens it for longer, as a failed probe does.
   */
  tripped(s: CircuitState, nowMs: number, config: CircuitConfig): CircuitState {
    if (isOpen(s)) return transitions.failed(s, nowMs, config);
    const failures = Math.max(s.failures + 1, config.failures);
    return { failures, openUntilMs: nowMs + config.cooldownMs, cooldownMs: config.cooldownMs, openedAtMs: nowMs };
  },
  /** The endpoint answered (any status): the streak ends and the circuit closes. */
  answered(): CircuitState {
    return CLOSED;
  },
  /** An open circuit past its cool-down becomes probing; the probe's own failure or answer ends that. */
  probe(s: CircuitState, nowMs: number, probeWindowMs: number): CircuitState {
    // Held open for the probe's longest run, so a runner that dies mid-probe delays the next one
    // by that much, not forever.
    return { ...s, openUntilMs: nowMs + probeWindowMs, probing: true };
  },
};

/**
 * How long a cached state is trusted before it is read again (as long as a cached webhook row):
 * another process's opening shows within this, or at this run's first failure, whose
 * compare-and-set reads it fresh. One read per endpoint per 5 s keeps Tablestore's bill flat.
 */
export const CIRCUIT_CACHE_MS = 5_000;

/**
 * The circuits as one run sees them: each endpoint's state read at most every CIRCUIT_CACHE_MS, changed by
 * compare-and-set, and the cache updated with whatever this run wrote.
 */
export class CircuitBreakers {
  private readonly cache = new Map<string, { state: CircuitState; raw: string | undefined; readAtMs: number }>();

  constructor(
    private readonly deps: {
      readonly store: Pick<Store, "getSetting" | "compareAndSetSetting">;
      readonly clock: Clock;
    },
    private readonly config: CircuitConfig,
    /** A probe's longest run: a delivery attempt's timeout plus quick retries. */
    private readonly probeWindowMs: number,
  ) {}

  private async read(endpoint: string, fresh: boolean) {
    const nowMs = this.deps.clock.now();
    const cached = this.cache.get(endpoint);
    if (cached && !fresh && nowMs - cached.readAtMs < CIRCUIT_CACHE_MS) return cached;
    const raw = await this.deps.store.getSetting(circuitKey(endpoint));
    const entry = { state: parseCircuit(raw), raw, readAtMs: nowMs };
    this.cache.set(endpoint, entry);
    return entry;
  }

  /**
   * Applies `change` to the stored state (reading it again after a lost race, a few times); returns
   * the state after, or undefined when the change had nothing to do (`change` returned the same object).
   */
  private async change(
    endpoint: string,
    change: (s: CircuitState) => CircuitState,
  ): Promise<{ state: CircuitState; changed: boolean }> {
    for (let tries = 0; ; tries++) {
      const current = await this.read(endpoint, tries > 0);
      const next = change(current.state);
      if (next === current.state) return { state: next, changed: false };
      const raw = JSON.stringify(next);
      if (current.raw === raw) return { state: current.state, changed: false };
      if (await this.deps.store.compareAndSetSetting(circuitKey(endpoint), current.raw, raw)) {
        this.cache.set(endpoint, { state: next, raw, readAtMs: this.deps.clock.now() });
        return { state: next, changed: true };
      }
      // Someone else changed it meanwhile: decide again on what they wrote. Three lost races in a
      // row mean a busy endpoint whose state others are keeping; theirs stands.
      if (tries >= 3) return { state: (await this.read(endpoint, true)).state, changed: false };
    }
  }

  /** Whether a delivery to `endpoint` may be attempted now, and if it is the probe. */
  async gate(endpoint: string): Promise<Gate> {
    const { state } = await this.read(endpoint, false);
    if (!isOpen(state)) return { go: true, probe: false };
    const nowMs = this.deps.clock.now();
    if ((state.openUntilMs ?? 0) > nowMs) return { go: false, untilMs: state.openUntilMs ?? nowMs };
    // The cool-down is over: whoever turns it into probing sends the probe; everyone else waits.
    const taken = await this.change(endpoint, (s) =>
      isOpen(s) && (s.openUntilMs ?? 0) <= nowMs ? transitions.probe(s, nowMs, this.probeWindowMs) : s,
    );
    if (taken.changed) return { go: true, probe: true };
    if (!isOpen(taken.state)) return { go: true, probe: false };
    return { go: false, untilMs: Math.max(nowMs, taken.state.openUntilMs ?? nowMs) };
  }

  /** An auth refusal (`transitions.tripped`); a straggler from before the opening changes nothing. */
  async trip(endpoint: string, probe: boolean): Promise<{ state: CircuitState; changed: boolean }> {
    const nowMs = this.deps.clock.now();
    return this.change(endpoint, (s) =>
      isOpen(s) && !(s.probing && probe) ? s : transitions.tripped(s, nowMs, this.config),
    );
  }

  /** Whether the endpoint's last request went unanswered, as last read (gate() has just read it). */
  async failing(endpoint: string): Promise<boolean> {
    return (await this.read(endpoint, false)).state.failures > 0;
  }

  /**
   * An attempt's outcome: `failure` is its failure class, undefined when the endpoint answered.
   * Returns the state after, and whether this call changed it.
   */
  async record(
    endpoint: string,
    failure: FailureClass | undefined,
    probe: boolean,
  ): Promise<{ state: CircuitState; changed: boolean }> {
    if (failure !== undefined && !CIRCUIT_FAILURES.has(failure)) {
      return { state: (await this.read(endpoint, false)).state, changed: false };
    }
    if (failure === undefined) {
      return this.change(endpoint, (s) => (s.failures === 0 && !isOpen(s) ? s : transitions.answered()));
    }
    const nowMs = this.deps.clock.now();
    return this.change(endpoint, (s) =>
      // Only the probe's failure reopens a probing circuit; a straggler from before the opening does not.
      isOpen(s) && s.probing && !probe ? s : transitions.failed(s, nowMs, this.config),
    );
  }
}

/** A circuit as the API, the CLI and the console show it. */
export interface CircuitView {
  readonly state: "closed" | "open" | "probing";
  readonly consecutiveFailures: number;
  readonly openUntil: string | null;
  readonly openedAt: string | null;
  readonly cooldownMs: number | null;
}

export function circuitView(s: CircuitState): CircuitView {
  const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
  return {
    state: !isOpen(s) ? "closed" : s.probing ? "probing" : "open",
    consecutiveFailures: s.failures,
    openUntil: iso(s.openUntilMs),
    openedAt: iso(s.openedAtMs),
    cooldownMs: s.cooldownMs ?? null,
  };
}

/** Reads one endpoint's circuit for showing (no cache). */
export async function readCircuit(store: Pick<Store, "getSetting">, endpoint: string): Promise<CircuitState> {
  return parseCircuit(await store.getSetting(circuitKey(endpoint)));
}
