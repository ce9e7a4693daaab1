/**
 * Webhook receivers with a behaviour each (noisy-endpoints.ts), in one process, for the
 * noisy-neighbours scenario. BENCH_NOISY_SERVERS lists one behaviour per server; the URLs are printed
 * on one line in that order. On SIGINT, or after BENCH_NOISY_LIFETIME_MS at the latest, it writes
 * what it saw to BENCH_NOISY_RECORDS and exits.
 */
import { writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  BEHAVIOURS,
  type Behaviour,
  HEALTHY_DELAY_MS,
  type ReceiverRecords,
  SLOW_DELAY_MS,
} from "./noisy-endpoints.js";

/** Reads a whole request: the healthy servers need the body; the rest must not leave it unread. */
function bodyOf(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  return new Promise((resolve, reject) => {
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function main(): void {
  const behaviours = (process.env.BENCH_NOISY_SERVERS ?? "ok").split(",") as Behaviour[];
  const bad = behaviours.find((b) => !BEHAVIOURS.includes(b));
  if (bad !== undefined) throw new Error(`unknown behaviour ${bad}`);
  const recordsPath = process.env.BENCH_NOISY_RECORDS;
  const lifetimeMs = Number(process.env.BENCH_NOISY_LIFETIME_MS ?? 600_000);
  const records: ReceiverRecords = { requests: behaviours.map(() => 0), answered: [] };

  const healthy = async (server: number, req: IncomingMessage, res: ServerResponse) => {
    const arrivedAtMs = Date.now();
    const body = await bodyOf(req);
    const timestamp = (JSON.parse(body) as { timestamp: string }).timestamp;
    const traceId = String(req.headers.traceparent ?? "").split("-")[1] ?? "";
    await new Promise((resolve) => setTimeout(resolve, HEALTHY_DELAY_MS));
    // The relay gave up meanwhile (its timeout): nothing was answered.
    if (req.socket.destroyed) return;
    res.writeHead(204).end();
    records.answered.push({
      server,
      webhookId: String(req.headers["webhook-id"]),
      eventId: `evt_${traceId}`,
      timestampMs: Date.parse(timestamp),
      arrivedAtMs,
      answeredAtMs: Date.now(),
    });
  };

  const handlers: Record<Behaviour, (server: number, req: IncomingMessage, res: ServerResponse) => unknown> = {
    ok: healthy,
    hang: (_server, req) => req.resume(),
    slow: async (_server, req, res) => {
      await bodyOf(req);
      setTimeout(() => req.socket.destroyed || res.writeHead(200).end(), SLOW_DELAY_MS);
    },
    error: async (_server, req, res) => {
      await bodyOf(req);
      res.writeHead(500).end();
    },
  };

  const listen = (behaviour: Behaviour, index: number): Promise<Server> => {
    const server = createServer((req, res) => {
      records.requests[index] = (records.requests[index] ?? 0) + 1;
      void Promise.resolve(handlers[behaviour](index, req, res)).catch(() => res.destroy());
    });
    server.keepAliveTimeout = 30_000;
    return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
  };

  void Promise.all(behaviours.map(listen)).then((servers) => {
    process.stdout.write(`${servers.map((s) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`).join(" ")}\n`);
    const stop = () => {
      if (recordsPath) writeFileSync(recordsPath, JSON.stringify(records));
      // Hanging requests would hold close() open: drop every connection, then go.
      for (const s of servers) {
        s.closeAllConnections();
        s.close();
      }
      process.exit(0);
    };
    process.once("SIGINT", stop);
    // Bounded even if the bench dies without stopping it.
    setTimeout(stop, lifetimeMs).unref();
  });
}

main();
