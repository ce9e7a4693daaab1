/**
 * Sharded due indexes. Tablestore partitions a table by its first key column; with one value there
 * (as before shards) every claim and every index write of the whole relay lands on one partition.
 * An entry's shard is a hash of what it indexes, so it is known without a read, and claims walk the
 * shards round-robin from a different one in each process.
 *
 * The count may be raised at any time. Lowering it would strand entries in the shards no longer
 * read, so the highest count ever used is recorded (in relay_settings) and claims read that many;
 * new entries are written over the configured count. Entries written under another count are found
 * all the same (readers read every shard) and repaired where they were found.
 */

import { DEFAULTS } from "../../config.js";
import { keys } from "./codecs.js";
import type { Pk } from "./wire/values.js";

export const DEFAULT_DUE_SHARDS = DEFAULTS.tablestore.dueShards;
const MAX_DUE_SHARDS = DEFAULTS.tablestore.maxDueShards;
const SETTING = "due_shards";

/** FNV-1a, 32 bits: cheap, and spreads short ids evenly enough over a few dozen shards. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export interface ShardSettings {
  get(key: string): Promise<string | undefined>;
  compareAndSet(key: string, expected: string | undefined, value: string): Promise<boolean>;
}

export class DueShards {
  private readable: Promise<number> | undefined;
  private cursor: number;
  private readonly random: () => number;

  constructor(
    /** How many shards new entries are spread over. */
    readonly count: number,
    private readonly settings: ShardSettings,
    random: () => number = Math.random,
  ) {
    if (!Number.isInteger(count) || count < 1 || count > MAX_DUE_SHARDS)
      throw new RangeError(`due shards must be an integer from 1 to ${MAX_DUE_SHARDS}, not ${count}`);
    this.random = random;
    this.cursor = Math.floor(random() * count);
  }

  /**
   * A shard's due window, starting at a random entry and wrapping round: several processes claim
   * from one window at once, and different starting points keep them off the same rows. Order
   * within a shard is then only roughly soonest first, as it is across shards; with one shard the
   * contract's exact order holds (no rotation).
   */
  rotate<T>(window: readonly T[], shardsRead: number): T[] {
    if (shardsRead <= 1 || window.length < 2) return [...window];
    const start = Math.floor(this.random() * window.length);
    return [...window.slice(start), ...window.slice(0, start)];
  }

  /** The shard of an entry, from the key of what it indexes. */
  of(key: string): string {
    return this.count === 1 ? "0" : String(hash(key) % this.count);
  }

  taskShard(ws: string, task: string): string {
    return this.of(`${ws}\u0000${task}`);
  }

  /** A task's due entry at `due`, in the shard its key hashes to. */
  taskDue(due: number, ws: string, task: string): Pk {
    return keys.taskDue(this.taskShard(ws, task), due, ws, task);
  }

  /** A delivery's due entry at `due`, in the shard its id hashes to. */
  deliveryDue(due: number, id: string): Pk {
    return keys.deliveryDue(this.of(id), due, id);
  }

  /**
   * Every shard a claim must read, starting at the next in this process's round: the recorded
   * highest count (read once; raised to ours if lower).
   */
  async round(): Promise<string[]> {
    this.readable ??= this.record().catch((error: unknown) => {
      this.readable = undefined; // read again next time
      throw error;
    });
    const n = await this.readable;
    const start = this.cursor++ % n;
    return Array.from({ length: n }, (_, i) => String((start + i) % n));
  }

  private async record(): Promise<number> {
    for (;;) {
      const text = await this.settings.get(SETTING);
      const recorded = text === undefined ? 1 : Number(text);
      if (recorded >= this.count) return recorded;
      if (await this.settings.compareAndSet(SETTING, text, String(this.count))) return this.count;
    }
  }
}
