/**
 * Bare webhook receivers for the benchmarks, in one process: BENCH_RECEIVER_PORTS servers (each its
 * own origin, as different subscribers are), answering 204 after BENCH_RECEIVER_DELAY_MS. Prints the
 * URLs on one line, space-separated; on SIGINT prints how many requests they answered.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

const delayMs = Number(process.env.BENCH_RECEIVER_DELAY_MS ?? 0);
const ports = Number(process.env.BENCH_RECEIVER_PORTS ?? 1);
let count = 0;

function receiver(): Promise<Server> {
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      count++;
      if (delayMs > 0) setTimeout(() => res.writeHead(204).end(), delayMs);
      else res.writeHead(204).end();
    });
  });
  server.keepAliveTimeout = 30_000;
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

const servers = await Promise.all(Array.from({ length: ports }, receiver));
const urls = servers.map((s) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`);
process.stdout.write(`${urls.join(" ")}\n`);
process.on("SIGINT", () => {
  process.stderr.write(`${count}\n`);
  let open = servers.length;
  for (const s of servers) {
    s.closeAllConnections();
    s.close(() => --open === 0 && process.exit(0));
  }
});
