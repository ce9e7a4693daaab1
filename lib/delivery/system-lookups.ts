/**
 * Webhook host names resolved by the system resolver without letting them take the process's
 * thread pool. getaddrinfo runs on libuv's pool (4 threads by default), and a lookup holds its
 * thread for as long as the system resolver's retries take, whatever deadline its caller gave up
 * at: a few names whose DNS never answers (any subscriber can name one) held every thread, and with
 * them every other lookup in the process (the Quanmiao API's, Tablestore's) and every file read.
 * So at most `maxInFlight` lookups run at once (half the pool), a name has one lookup at a time
 * whoever asks, and an answer is kept for `ttlMs`: a known subscriber never queues behind
 * strangers' lookups.
 */
import { RefusedTargetError } from "../errors.js";

export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

export type Lookup = (hostname: string) => Promise<ResolvedAddress[]>;

export interface SystemLookupsOptions {
  readonly lookup: Lookup;
  /** Real time, for how long an answer is kept. */
  readonly now: () => number;
  /** Lookups running at once, at most (default 2: half of libuv's default pool). */
  readonly maxInFlight?: number;
  /** Lookups waiting for a turn, at most; past it a lookup fails at once (default 256). */
  readonly maxWaiting?: number;
  /** How long an answer is kept (default 30 s); failures are not kept. */
  readonly ttlMs?: number;
  /** Names whose answers are kept, at most; the least recently resolved are dropped first (default 4,096). */
  readonly maxKept?: number;
}

export class SystemLookups {
  private readonly kept = new Map<string, { addresses: ResolvedAddress[]; atMs: number }>();
  private readonly pending = new Map<string, Promise<ResolvedAddress[]>>();
  private readonly waiting: Array<() => void> = [];
  private running = 0;
  private readonly maxInFlight: number;
  private readonly maxWaiting: number;
  private readonly ttlMs: number;
  private readonly maxKept: number;

  constructor(private readonly options: SystemLookupsOptions) {
    this.maxInFlight = options.maxInFlight ?? 2;
    this.maxWaiting = options.maxWaiting ?? 256;
    this.ttlMs = options.ttlMs ?? 30_000;
    this.maxKept = options.maxKept ?? 4_096;
  }

  /** Lookups running now (each holding a pool thread). */
  get inFlight(): number {
    return this.running;
  }

  readonly resolve = (hostname: string): Promise<ResolvedAddress[]> => {
    const kept = this.kept.get(hostname);
    if (kept && this.options.now() - kept.atMs < this.ttlMs) return Promise.resolve(kept.addresses);
    const pending = this.pending.get(hostname);
    if (pending) return pending;
    if (this.running >= this.maxInFlight && this.waiting.length >= this.maxWaiting)
      return Promise.reject(
        new RefusedTargetError(
          `could not resolve ${hostname}: ${this.waiting.length} host name lookups are already waiting for the resolver`,
          { kind: "dns" },
        ),
      );
    const lookup = this.run(hostname).finally(() => this.pending.delete(hostname));
    this.pending.set(hostname, lookup);
    return lookup;
  };

  private async run(hostname: string): Promise<ResolvedAddress[]> {
    if (this.running >= this.maxInFlight) await new Promise<void>((turn) => this.waiting.push(turn));
    else this.running++;
    try {
      const addresses = await this.options.lookup(hostname);
      this.keep(hostname, addresses);
      return addresses;
    } finally {
      // The slot passes to the next waiting lookup as it is, never counted free in between.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }

  private keep(hostname: string, addresses: ResolvedAddress[]): void {
    this.kept.delete(hostname);
    this.kept.set(hostname, { addresses, atMs: this.options.now() });
    if (this.kept.size > this.maxKept) this.kept.delete(this.kept.keys().next().value as string);
  }
}
