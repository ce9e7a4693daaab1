/**
 * The API's open connections, at most `max`: each holds a descriptor and buffers, and node's own
 * `maxConnections` refuses every new one once the limit is reached, so that a few hundred idle
 * connections (which need no token) locked the token holder out. Past the limit a new connection
 * takes the place of the longest idle one (between requests, or its request's headers not all in
 * yet); it is refused only when every open one has a request in progress. A request is in progress
 * until its answer is handed to the socket, not until the client has read it: a client that never
 * reads its answers (pipelining a hundred of them) held its slot for ever.
 */
import type { ServerResponse } from "node:http";
import type { Socket } from "node:net";

export class ConnectionSlots {
  /** In order of last use: the first idle one is the longest idle. */
  private readonly open = new Map<Socket, { requests: number }>();

  constructor(
    private readonly max: number,
    private readonly onFull: (what: "closed the longest idle" | "refused the new one") => void,
  ) {}

  admit(socket: Socket): void {
    if (this.open.size >= this.max) {
      const idle = this.longestIdle();
      if (idle === undefined) {
        socket.destroy();
        this.onFull("refused the new one");
        return;
      }
      this.open.delete(idle);
      idle.destroy();
      this.onFull("closed the longest idle");
    }
    this.open.set(socket, { requests: 0 });
    socket.once("close", () => this.open.delete(socket));
  }

  /** A request on `socket` is in progress until `release` (or its response closes, if sooner). */
  busy(socket: Socket, res: ServerResponse): () => void {
    const slot = this.open.get(socket);
    if (!slot) return () => {};
    slot.requests++;
    this.open.delete(socket);
    this.open.set(socket, slot);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      slot.requests--;
    };
    res.once("close", release);
    return release;
  }

  private longestIdle(): Socket | undefined {
    for (const [socket, slot] of this.open) if (slot.requests === 0) return socket;
    return undefined;
  }
}
