/**
 * One delivery pass: claims due deliveries (or the given ids) and attempts them, `concurrency` at
 * once and at most the per-endpoint limit per endpoint, until none are due or time is up. Shared by
 * the timer run's pump and by the FC deliver function that fan-out invokes.
 *
 * Work-conserving: a free worker always takes a row whose endpoint can accept it (EndpointQueues);
 * rows for a busy, paused or rate-limited endpoint wait without holding a worker, and the pass
 * claims past them while its workers would otherwise idle. Endpoints earn their share of workers by
 * answering (EndpointQueues' slow start), so ones that hang cannot hold them all. An endpoint whose circuit is open has
 * its rows deferred to the end of the cool-down (circuit.ts). Nothing starts once the pass's time
 * is up: rows it holds then are given back, due as before, for the next run. An EventBridge bus's
 * rows go up to 16 to a request (eventbridge-batch.ts), the batch taken whole when its first row is.
 */
import { describeError } from "../errors.js";
import type { Fifo } from "../fifo.js";
import type { DeliveryRow } from "../store/store.js";
import { attemptDelivery, type DeliveryRun, isTaskTarget, type Reached, slowAnswerMs } from "./deliver.js";
import { EndpointQueues } from "./endpoint-queues.js";
import { attemptEventBridgeBatch, EVENTBRIDGE_BATCH, isEventBridge } from "./eventbridge-batch.js";
import { countOutcome, type DeliveryCounts } from "./pass-counts.js";
import { PassRateSlots } from "./pass-rate-slots.js";

export interface DeliveryLoopOptions {
  readonly leaseMs: number;
  readonly concurrency: number;
  /** No attempt starts at or after this: what started before ends within one delivery timeout of it. */
  readonly startBeforeMs: number;
  /** Only these deliveries (a fan-out batch); otherwise whatever is due. */
  readonly ids?: readonly string[] | undefined;
  /** Deliveries already leased to this run, taken before any claimed one. */
  readonly owned?: Fifo<DeliveryRow> | undefined;
  /** False: only the `owned` deliveries, no claim from the store (until `poke(true)`). */
  readonly claim?: boolean | undefined;
  /** Real ms between claims while the store had nothing due and attempts are in flight (default 1 s). */
  readonly reclaimEveryMs?: number | undefined;
}

/**
 * A pass that found nothing due claims again this often while its attempts are still in flight:
 * rows that fall due meanwhile (a retry 5 s on, a replay, a resend, rows another run gave back)
 * waited for its slowest attempt, a whole timeout behind one slow endpoint. Real time, as the wait
 * on the attempts is: a manual clock's sleep would leap ahead by the pass's budget at once.
 */
export const RECLAIM_EVERY_MS = 1_000;

/** Rows one pass holds at most (claimed and waiting for their endpoint), per worker. */
const HELD_PER_WORKER = 64;

const endpointOf = (row: DeliveryRow) => row.webhookId;

/** The host a row goes to, whose standing a URL new to the relay starts with (an EventBridge bus has none). */
function hostOf(row: DeliveryRow): string | undefined {
  if (!URL.canParse(row.url)) return undefined;
  const { protocol, host } = new URL(row.url);
  return protocol === "http:" || protocol === "https:" ? `host:${host}` : undefined;
}

/**
 * Requests an endpoint may have in flight before it answered one in this pass: few enough that a
 * black hole holds little, while one answering in 50 ms reaches its limit within a few round trips.
 */
const START_LIMIT = 2;

export class DeliveryPass {
  private readonly queues: EndpointQueues<DeliveryRow>;
  /** Attempts in flight, each holding a worker. */
  private active = 0;
  private claiming = false;
  private drained: boolean;
  private claimError: unknown;
  private readonly batch: string[] | undefined;
  private readonly slots: PassRateSlots;
  private wakeAtMs: number | undefined;
  private reclaimTimer: NodeJS.Timeout | undefined;
  /** Whether this pass claims from the store at all (not a fan-out batch, nor owned rows alone). */
  private claims: boolean;
  private ended = false;
  private finish: () => void = () => {};
  /** Rows given back once the pass's time was up, while its last attempts were still in flight. */
  private givenBack: Promise<void> | undefined;
  private readonly maxHeld: number;
  /** Endpoints this pass has read the circuit of (or is reading), before taking any of their rows. */
  private readonly known = new Set<string>();
  /** Endpoints that are EventBridge buses: their rows are taken up to 16 at a time. */
  private readonly batching = new Set<string>();
  private readonly batchSize: number;

  constructor(
    private readonly delivery: DeliveryRun,
    private readonly counts: DeliveryCounts,
    private readonly options: DeliveryLoopOptions,
  ) {
    this.queues = new EndpointQueues(
      {
        limit: delivery.deps.config.perEndpointConcurrency,
        startLimit: START_LIMIT,
        strugglingShare: Math.ceil(options.concurrency / 2),
        memory: delivery.deps.endpointMemory,
        groupOf: hostOf,
        // A quarter of the workers stays for endpoints known to answer promptly, whatever newcomers come.
        unprovenShare: Math.max(1, options.concurrency - Math.max(1, Math.floor(options.concurrency / 4))),
        inFlight: delivery.deps.endpointMemory?.inFlight,
        // Another pass's request ended, and a row of ours may take its slot (not from inside its attempt).
        onFreed: () => queueMicrotask(() => this.fill()),
      },
      endpointOf,
    );
    this.slots = new PassRateSlots(delivery.rates, delivery.deps.clock, (key, untilMs) =>
      this.queues.pause(key, untilMs),
    );
    this.batch = options.ids ? [...new Set(options.ids)] : undefined;
    this.batchSize = Math.min(
      EVENTBRIDGE_BATCH,
      Math.max(1, delivery.deps.eventBridge?.batchSize ?? EVENTBRIDGE_BATCH),
    );
    this.drained = options.claim === false;
    this.claims = options.claim !== false && !this.batch;
    this.maxHeld = Math.max(options.concurrency * HELD_PER_WORKER, 256);
  }

  private timeLeft(): boolean {
    return this.delivery.deps.clock.now() < this.options.startBeforeMs;
  }

  /** New work for this pass: rows adopted into `owned`, and with `claim`, rows due in the store. */
  poke(claim: boolean): void {
    if (claim && !this.batch) {
      this.drained = false;
      this.claims = true;
    }
    this.fill();
  }

  /** Resolves when every attempt it started has ended; throws the claim error that stopped it, if one did. */
  async run(): Promise<void> {
    // A look when time is up, for the rows to give back while attempts are still in flight.
    const timeUp = setTimeout(
      () => this.fill(),
      Math.max(0, this.options.startBeforeMs - this.delivery.deps.clock.now()),
    );
    timeUp.unref();
    await new Promise<void>((resolve) => {
      this.finish = resolve;
      this.fill();
    });
    clearTimeout(timeUp);
    if (this.claimError !== undefined) throw this.claimError;
  }

  /** Starts what can start; claims when workers would idle; ends the pass when nothing is left. */
  private fill(): void {
    if (this.ended) return;
    const nowMs = this.delivery.deps.clock.now();
    const timeLeft = this.timeLeft();
    const { owned, concurrency } = this.options;
    if (owned) for (let row = owned.shift(); row; row = owned.shift()) this.enqueue(row);
    if (timeLeft) {
      while (this.active < concurrency) {
        const next = this.queues.take(nowMs);
        if (!next) break;
        this.active++;
        // A bus takes up to 16 events a request: the endpoint's waiting rows go with this one, taken
        // now, before another worker takes them one at a time.
        const more = this.batching.has(next.key) ? this.queues.takeMore(next.key, this.batchSize - 1) : [];
        void this.attempt(next.row, next.key, more);
      }
      const wanted = concurrency - this.active + Math.ceil(concurrency / 2);
      if (!this.drained && !this.claiming && this.queues.takeable(nowMs) < wanted && this.queues.size < this.maxHeld)
        void this.claim();
      this.wakeForPaused(nowMs);
      if (this.drained && this.claims && this.active > 0 && this.reclaimTimer === undefined) {
        this.reclaimTimer = setTimeout(() => {
          this.reclaimTimer = undefined;
          if (this.ended) return;
          this.drained = false;
          this.fill();
        }, this.options.reclaimEveryMs ?? RECLAIM_EVERY_MS);
        this.reclaimTimer.unref();
      }
    }
    // Time is up: rows it will not attempt go back now, not when its slowest attempt ends (up to a
    // whole timeout later), so that the next run can take them meanwhile.
    if (!timeLeft && this.queues.size > 0 && this.givenBack === undefined) this.givenBack = this.giveBack();
    if (this.active > 0 || this.claiming) return;
    const waiting = this.queues.size > 0;
    if (timeLeft && (waiting || !this.drained)) return; // a paused endpoint's wake, or a claim, will come
    this.ended = true;
    clearTimeout(this.reclaimTimer);
    this.queues.close();
    void (this.givenBack ?? Promise.resolve()).then(() => this.giveBack()).finally(this.finish);
  }

  /** A timer for the soonest paused endpoint with rows waiting, within the pass's time. */
  private wakeForPaused(nowMs: number): void {
    const at = this.queues.nextUnpauseMs(nowMs);
    if (at === undefined || (this.wakeAtMs !== undefined && this.wakeAtMs <= at && this.wakeAtMs > nowMs)) return;
    const wakeAt = Math.min(at, this.options.startBeforeMs);
    this.wakeAtMs = wakeAt;
    void this.delivery.deps.sleep(Math.max(0, wakeAt - nowMs)).then(() => {
      if (this.wakeAtMs === wakeAt) this.wakeAtMs = undefined;
      this.fill();
    });
  }

  /**
   * A row for an endpoint new to this pass waits until its circuit is read: one that failed before
   * must start with a single slot in the failing ones' share, not with the start window each of
   * many black holes would fill before the first answer came back.
   */
  private enqueue(row: DeliveryRow): void {
    const key = endpointOf(row);
    // Pushed first: the queues meet the endpoint with its row, which names its host.
    this.queues.push(row);
    if (this.known.has(key)) return;
    this.known.add(key);
    this.queues.hold(key);
    void this.learn(key);
  }

  private async learn(key: string): Promise<void> {
    try {
      const [failing, webhook] = await Promise.all([
        this.delivery.circuits.failing(key),
        isTaskTarget(key) ? undefined : this.delivery.webhook(key),
      ]);
      if (failing) this.queues.knownFailing(key);
      if (isEventBridge(webhook)) this.batching.add(key);
    } catch {
      // The gate reads the circuit again before the attempt, and reports what went wrong there.
    } finally {
      this.queues.unhold(key);
      this.fill();
    }
  }

  private async claim(): Promise<void> {
    const { store, clock, owner } = this.delivery.deps;
    const claimSize = this.options.concurrency;
    this.claiming = true;
    try {
      for (;;) {
        const ids = this.batch?.splice(0, claimSize);
        if (ids?.length === 0) {
          this.drained = true;
          break;
        }
        const rows = await store.claimDueDeliveries({
          owner,
          nowMs: clock.now(),
          leaseMs: this.options.leaseMs,
          limit: claimSize,
          ...(ids ? { ids } : {}),
        });
        for (const row of rows) this.enqueue(row);
        if (rows.length > 0) break;
        // Nothing due (or this slice of the batch was taken elsewhere): the next slice, or done.
        if (!ids) {
          this.drained = true;
          break;
        }
      }
    } catch (error) {
      // A claim that failed (the store is unreachable) ends this pass; the caller decides what it means.
      this.claimError ??= error;
      this.drained = true;
    } finally {
      this.claiming = false;
    }
    this.fill();
  }

  private async attempt(row: DeliveryRow, key: string, more: DeliveryRow[]): Promise<void> {
    let inFlight = true;
    let slowAfter: NodeJS.Timeout | undefined;
    try {
      const go = await this.gate(row, key, more);
      if (go === "put-back") {
        inFlight = false;
        this.queues.putBack(key, row, more);
        return;
      }
      if (go === "deferred") return;
      // Unanswered past a prompt answer's time already tells: the endpoint joins the struggling ones
      // now, before a worker freed meanwhile is taken by it again (real time: the wait is the network's).
      slowAfter = setTimeout(() => this.queues.markSlow(key), slowAnswerMs(this.delivery.deps.config));
      slowAfter.unref();
      const probe = go === "probe";
      let reached: Reached;
      // Read again (cached): a bus this pass did not know of yet (its first read failed, or it was
      // re-pointed) must not go down the URL path, whose guard would refuse its acs: name for good.
      const webhook = isTaskTarget(key) ? undefined : await this.delivery.webhook(key);
      if (webhook?.enabled && isEventBridge(webhook)) {
        this.batching.add(key);
        const { startBeforeMs } = this.options;
        const batch = await attemptEventBridgeBatch([row, ...more], webhook, this.delivery, { probe, startBeforeMs });
        for (const outcome of batch.outcomes) countOutcome(this.counts, outcome);
        reached = batch.reached;
      } else {
        // No longer a bus (re-pointed, disabled or deleted meanwhile): its other rows go back to
        // their queue, for workers to take one at a time as for any URL, within the pass's time.
        this.batching.delete(key);
        this.queues.returnTaken(key, more);
        const attempt = await attemptDelivery(row, this.delivery, { probe });
        countOutcome(this.counts, attempt.outcome);
        reached = attempt.reached;
      }
      if (reached === "answered") this.queues.answered(key);
      else if (reached === "slow") this.queues.markSlow(key);
      else if (reached === "unreachable") this.queues.unanswered(key);
    } catch (error) {
      this.counts.errors++;
      this.delivery.deps.log?.({
        level: "error",
        msg: "delivery failed unexpectedly",
        deliveryId: row.id,
        error: describeError(error),
      });
    } finally {
      clearTimeout(slowAfter);
      this.active--;
      if (inFlight) this.queues.done(key);
      this.fill();
    }
  }

  /**
   * Whether this row is attempted now: "go" or "probe" (the one attempt of a circuit past its
   * cool-down); "deferred" (circuit open: it and its endpoint's waiting rows are put off); or
   * "put-back" (its rate-limit slot is still ahead: it waits in its queue, the endpoint paused).
   */
  private async gate(
    row: DeliveryRow,
    key: string,
    more: readonly DeliveryRow[],
  ): Promise<"go" | "probe" | "deferred" | "put-back"> {
    // The rate limit first: a slot taken for a row the circuit then defers is lost capacity, while a
    // probe taken for a row that must then wait for its slot would hold the circuit shut.
    const limit = await this.delivery.rateLimitOf(row);
    if (limit !== undefined && !(await this.slots.take(key, limit))) return "put-back";
    const gate = await this.delivery.circuits.gate(key);
    if (!gate.go) {
      await this.defer([row, ...more, ...this.queues.drainEndpoint(key)], gate.untilMs);
      return "deferred";
    }
    if (gate.probe || (await this.delivery.circuits.failing(key))) this.queues.knownFailing(key);
    return gate.probe ? "probe" : "go";
  }

  /** Gives rows back without an attempt, due at `untilMs` (their attempt count unchanged). */
  private async defer(rows: readonly DeliveryRow[], untilMs: number): Promise<void> {
    const { store, owner, metrics } = this.delivery.deps;
    let deferred = 0;
    await Promise.all(
      rows.map(async (row) => {
        if (await store.releaseDelivery(row, owner, untilMs)) deferred++;
      }),
    );
    this.counts.deferred += deferred;
    metrics?.deferred(deferred);
  }

  /** The pass is over: rows still waiting are given back, due as they were (or now, if created leased). */
  private async giveBack(): Promise<void> {
    const rows = this.queues.drain();
    if (rows.length === 0) return;
    const { store, owner, clock, log } = this.delivery.deps;
    const nowMs = clock.now();
    let released = 0;
    try {
      await Promise.all(
        rows.map(async (row) => {
          if (await store.releaseDelivery(row, owner, Math.min(row.nextAttemptAtMs, nowMs))) released++;
        }),
      );
    } catch (error) {
      // Their leases run out by themselves: the next run after that takes them.
      log?.({ level: "warn", msg: "could not give back unattempted deliveries", error: describeError(error) });
    }
    this.counts.released += released;
    if (released > 0) log?.({ level: "info", msg: "gave back deliveries there was no time for", released });
  }
}

export async function deliverDue(run: DeliveryRun, counts: DeliveryCounts, options: DeliveryLoopOptions) {
  await new DeliveryPass(run, counts, options).run();
}
