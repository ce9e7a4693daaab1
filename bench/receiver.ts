/** A bare webhook receiver for the benchmarks: answers 204, prints its URL, counts requests. */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

let count = 0;
const server = createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    count++;
    res.writeHead(204).end();
  });
});
server.keepAliveTimeout = 30_000;
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
process.on("SIGINT", () => {
  process.stderr.write(`${count}\n`);
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
