/**
 * How many of a pass's workers each kind of endpoint may hold at once (EndpointQueues). A request
 * nobody answers holds its worker for a whole timeout, and cannot be taken back, so endpoints not
 * known to answer promptly are bounded as a class: struggling ones (failing, or answering slowly)
 * to `strugglingShare`, and they with newcomers (not heard from yet) to `unprovenShare`. What is
 * left stays for endpoints known to answer promptly, however many hang or are new.
 */

/** What the shares read of an endpoint. */
export interface Standing {
  /** Above 0 it struggles (EndpointQueues' strikes). */
  strikes: number;
  /** It was heard from: its standing is its own, not a newcomer's. */
  heard: boolean;
  /** Requests this pass has in flight to it. */
  active: number;
}

export const struggles = (e: Pick<Standing, "strikes">) => e.strikes > 0;
/** Not known to answer promptly: struggling, or not heard from yet. */
const unproven = (e: Pick<Standing, "strikes" | "heard">) => struggles(e) || !e.heard;

export class WorkerShares {
  private struggling = 0;
  private unproven = 0;

  constructor(
    private readonly strugglingShare = Number.POSITIVE_INFINITY,
    private readonly unprovenShare = Number.POSITIVE_INFINITY,
  ) {}

  /** A request to `e` started (1) or ended (-1): counted in its classes. */
  count(e: Standing, n: 1 | -1): void {
    if (struggles(e)) this.struggling += n;
    if (unproven(e)) this.unproven += n;
  }

  /** Changes `e`'s standing, moving its requests in flight between classes. */
  restand(e: Standing, change: () => void): void {
    const [wasStruggling, wasUnproven] = [struggles(e), unproven(e)];
    change();
    if (wasStruggling !== struggles(e)) this.struggling += wasStruggling ? -e.active : e.active;
    if (wasUnproven !== unproven(e)) this.unproven += wasUnproven ? -e.active : e.active;
  }

  /** Its class already holds its share of workers. */
  full(e: Standing): boolean {
    return (
      (struggles(e) && this.struggling >= this.strugglingShare) || (unproven(e) && this.unproven >= this.unprovenShare)
    );
  }

  /** Of free slots by class (summed over endpoints), how many the shares let be taken now. */
  takeable(free: { proven: number; newcomers: number; struggling: number }): number {
    const struggling = Math.min(free.struggling, Math.max(0, this.strugglingShare - this.struggling));
    return free.proven + Math.min(free.newcomers + struggling, Math.max(0, this.unprovenShare - this.unproven));
  }
}
