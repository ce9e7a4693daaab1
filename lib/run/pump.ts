/**
 * The delivery pump: delivers due deliveries beside the poll loop, woken by each new delivery, so a
 * finished task's webhook leaves while polling goes on. With fan-out it hands batches to the deliver
 * function instead, and delivers inline what it cannot hand off.
 */
import type { DeliveryRun } from "../delivery/deliver.js";
import type { FanOut } from "../delivery/fanout.js";
import { type DeliveryLoopOptions, DeliveryPass } from "../delivery/loop.js";
import { Fifo } from "../fifo.js";
import type { DeliveryRow } from "../store/store.js";
import type { RunContext } from "./context.js";

/** How long the pump waits, once woken, for more deliveries to claim together. */
export const PUMP_GATHER_MS = 20;

export class DeliveryPump {
  private wanted = true;
  /**
   * Whether the next pass must claim from the store: something may be due there that this run
   * does not hold (at the start, after a kick). A pass for adopted deliveries alone claims nothing,
   * which on Tablestore saves reading every shard of the due index each time a task finishes.
   */
  private claimWanted = true;
  private stopping = false;
  private wake: (() => void) | undefined;
  private running: Promise<void> | undefined;
  /** The store error that stopped the pump, if one did. */
  error: unknown;
  /** The pass under way, told of new work as it comes (it would otherwise see it only when an attempt ends). */
  private pass: DeliveryPass | undefined;
  /** Deliveries created leased to this run (see emitter.ts): attempted before any claim. */
  private readonly owned = new Fifo<DeliveryRow>();

  constructor(
    private readonly run: RunContext,
    private readonly deliveryRun: DeliveryRun,
    private readonly fanOut: FanOut | undefined,
  ) {}

  get failed(): boolean {
    return this.error !== undefined;
  }

  start(): void {
    this.running ??= this.loop();
  }

  /** Deliveries this run holds the lease of: deliver them soon. */
  adopt(rows: readonly DeliveryRow[]): void {
    if (rows.length === 0) return;
    this.owned.push(rows);
    this.wanted = true;
    this.wake?.();
    this.pass?.poke(false);
  }

  /** New deliveries may be due: deliver them soon. */
  kick(): void {
    this.wanted = true;
    this.claimWanted = true;
    this.wake?.();
    this.pass?.poke(true);
  }

  /** One last pass over what is due, then stops. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.kick();
    await this.running;
  }

  private async loop(): Promise<void> {
    for (;;) {
      if (!this.wanted) {
        if (this.stopping) return;
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        this.wake = undefined;
        // Woken by a new delivery: a moment for the rest of the batch being polled, so that one
        // claim takes them together (a claim is a request or more on Tablestore).
        if (!this.stopping) await this.run.deps.sleep(PUMP_GATHER_MS);
        continue;
      }
      this.wanted = false;
      try {
        await this.deliverDueNow();
      } catch (error) {
        // The store failed a claim: polling stops too, and the run reports it when it ends.
        this.error ??= error;
        return;
      }
    }
  }

  private async deliverDueNow(): Promise<void> {
    const { summary, stopStartingAtMs, timeLeft, leaseMs } = this.run;
    const loop: DeliveryLoopOptions = {
      leaseMs,
      concurrency: this.run.deps.config.delivery.concurrency,
      startBeforeMs: stopStartingAtMs,
      owned: this.owned,
      claim: this.claimWanted,
    };
    this.claimWanted = false;
    const pass = async (options: DeliveryLoopOptions) => {
      const pass = new DeliveryPass(this.deliveryRun, summary, options);
      this.pass = pass;
      try {
        await pass.run();
      } finally {
        if (this.pass === pass) this.pass = undefined;
      }
    };
    const handedOff =
      this.fanOut?.usable === true && (await this.fanOut.handOff(summary, timeLeft, (ids) => pass({ ...loop, ids })));
    if (!handedOff) await pass(loop);
    summary.budgetExhausted ||= !timeLeft();
  }
}
