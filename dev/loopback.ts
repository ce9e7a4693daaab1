import { createServer, type RequestListener } from "node:http";
import type { AddressInfo } from "node:net";

/** A started loopback HTTP server: its base URL, and a close that does not wait for keep-alive clients. */
export interface LoopbackServer {
  readonly url: string;
  readonly port: number;
  readonly server: ReturnType<typeof createServer>;
  close(): Promise<void>;
}

/**
 * Listens on 127.0.0.1 (never another address: the dev servers stand in for cloud services and must
 * not be reachable from elsewhere), on `port` or any free one. Rejects when the port is taken.
 */
export async function listenOnLoopback(handler: RequestListener, port = 0): Promise<LoopbackServer> {
  // A request must arrive within 30 s, as the API's must (node's default is 5 minutes).
  const timeouts = { requestTimeout: 30_000, headersTimeout: 15_000, connectionsCheckingInterval: 5_000 };
  const server = createServer(timeouts, (req, res) => {
    // These servers share a process with the relay under `npm start`: a request that makes a
    // handler throw (a client gone mid-upload ends `for await` over the body with ECONNRESET) must
    // end that request, not the sandbox.
    const failed = (error: unknown) => {
      if (res.headersSent || req.destroyed) return void res.destroy();
      res.writeHead(500, { "content-type": "text/plain" }).end(`${(error as Error)?.message ?? error}\n`);
    };
    try {
      const answered: unknown = handler(req, res);
      if (answered instanceof Promise) answered.catch(failed);
    } catch (error) {
      failed(error);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${bound}`,
    port: bound,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        // Keep-alive clients (undici pools) would hold close() open until they time out.
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
