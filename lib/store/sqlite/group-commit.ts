/**
 * Group commit: the writes one process makes in the same turn of the event loop share one
 * transaction. A commit costs far more than the statements it commits (most of a run's CPU went to
 * per-statement commits), and a run's writes arrive in bursts — the answers to a batch of polls,
 * the results of a batch of deliveries.
 *
 * Each write runs at once, synchronously, inside a savepoint of the open transaction, so a write
 * that fails undoes only its own statements (a write of one statement needs no savepoint: SQLite
 * undoes a failed statement by itself). Its promise settles when the group commits (at the check
 * phase of the same turn): a caller that has been told "written" has it on disk, and when a commit
 * fails every write of the group is told so. The write lock is held only from the group's
 * first write to the end of that turn, with no I/O awaited in between (other processes sharing the
 * file wait for it within their busy timeout).
 *
 * Reads on this connection run inside the open group and see its writes before they commit. Only
 * a failed commit (disk full, an I/O error) could make such a read have seen a write that then did
 * not happen; the writer is told, and its work is retried as after any failed write.
 */
import type Database from "better-sqlite3";
import { RelayError } from "../../errors.js";

/** A group's commit failed: none of its writes took place. Retrying the work repeats them. */
export class CommitError extends RelayError {
  readonly retryable = true;
}

interface Waiter {
  settle(): void;
  reject(error: unknown): void;
}

export class GroupCommit {
  private waiters: Waiter[] = [];
  private readonly begin: Database.Statement;
  private readonly commit: Database.Statement;
  private readonly rollback: Database.Statement;
  private readonly savepoint: Database.Statement;
  private readonly release: Database.Statement;
  private readonly undo: Database.Statement;

  constructor(
    private readonly db: Database.Database,
    /** When the open group commits: the check phase, after this turn's I/O callbacks. */
    private readonly schedule: (flush: () => void) => void = (flush) => setImmediate(flush),
  ) {
    this.begin = db.prepare("BEGIN IMMEDIATE");
    this.commit = db.prepare("COMMIT");
    this.rollback = db.prepare("ROLLBACK");
    // Prepared once: better-sqlite3's db.transaction() builds its wrappers anew on every call,
    // which cost more than the savepoint itself at a few writes per task.
    this.savepoint = db.prepare("SAVEPOINT relay_write");
    this.release = db.prepare("RELEASE relay_write");
    this.undo = db.prepare("ROLLBACK TO relay_write");
  }

  /** Runs `work` in the open group (opening one if none is) and resolves once the group commits. */
  write<T>(work: () => T): Promise<T> {
    return this.join(() => this.inSavepoint(work));
  }

  /**
   * `write` for work that makes one statement's changes. SQLite undoes a failed statement by itself
   * and keeps the transaction, so such work needs no savepoint; most of a run's writes are one
   * statement, and the savepoint's two extra statements cost about a tenth of a write.
   */
  writeOne<T>(work: () => T): Promise<T> {
    return this.join(work);
  }

  private join<T>(work: () => T): Promise<T> {
    try {
      if (!this.db.inTransaction) {
        this.begin.run();
        this.schedule(() => this.flush());
      }
      const result = work();
      return new Promise<T>((resolve, reject) => this.waiters.push({ settle: () => resolve(result), reject }));
    } catch (error) {
      // Most failures undo one statement; a few (disk full, I/O) end the whole transaction, and with
      // it the writes already in the group.
      if (!this.db.inTransaction) this.fail(error);
      return Promise.reject(error);
    }
  }

  /** Runs `work` so that, if it throws, its own statements are undone and the group's others kept. */
  private inSavepoint<T>(work: () => T): T {
    this.savepoint.run();
    let result: T;
    try {
      result = work();
    } catch (error) {
      // A failure that ended the whole transaction took the savepoint with it.
      if (this.db.inTransaction) {
        this.undo.run();
        this.release.run();
      }
      throw error;
    }
    this.release.run();
    return result;
  }

  /** Commits the open group now (also what close() needs before the database goes). */
  flush(): void {
    if (!this.db.inTransaction) {
      this.fail(new CommitError("the transaction ended before its commit"));
      return;
    }
    const waiters = this.take();
    try {
      this.commit.run();
    } catch (error) {
      if (this.db.inTransaction) this.rollback.run();
      const failure = new CommitError("committing a group of writes failed", { cause: error });
      for (const w of waiters) w.reject(failure);
      return;
    }
    for (const w of waiters) w.settle();
  }

  private fail(cause: unknown): void {
    const failure = cause instanceof CommitError ? cause : new CommitError("the group's transaction ended", { cause });
    for (const w of this.take()) w.reject(failure);
  }

  private take(): Waiter[] {
    const waiters = this.waiters;
    this.waiters = [];
    return waiters;
  }
}
