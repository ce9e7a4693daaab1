/**
 * One poll run as FC runs it, for the linger-cost scenario: a fresh process loads the poll bundle
 * (dist/poll/index.js), invokes its handler once with a timer event and a context carrying the
 * function role's credentials, and prints the run's wall time, this process's CPU time and peak
 * RSS, and the run's summary as its last stdout line. Configuration comes from the environment.
 */
import { createRequire } from "node:module";
import { SIM_CREDENTIAL } from "../dev/quanmiao-simulator/server.js";
import { peakRssMiB as ownPeakRssMiB } from "./peak-rss.js";

type Handler = (event: Buffer, context: unknown) => Promise<unknown>;
const { handler } = createRequire(import.meta.url)("../poll/index.js") as { handler: Handler };
const event = Buffer.from(
  JSON.stringify({ triggerTime: new Date().toISOString(), triggerName: "every-minute", payload: "" }),
);
/** CPU time so far (ms) every 250 ms, for the busiest stretch of the run. */
const samples: Array<[number, number]> = [];
const cpuMsNow = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const sampler = setInterval(() => samples.push([performance.now(), cpuMsNow()]), 250);
const cpuAtStart = cpuMsNow();
const started = performance.now();
samples.push([started, cpuAtStart]);
const summary = await handler(event, {
  requestId: "linger-cost",
  credentials: { ...SIM_CREDENTIAL, securityToken: "" },
  // s.yaml's timeout: the run's budget is 90 % of it.
  function: { name: "quanmiao-relay-poll", handler: "index.handler", timeout: 120 },
});
const wallMs = performance.now() - started;
const cpuMs = cpuMsNow() - cpuAtStart;
clearInterval(sampler);
samples.push([performance.now(), cpuMsNow()]);
const peakRssMiB = ownPeakRssMiB();
process.stdout.write(
  `${JSON.stringify({ wallMs, cpuMs, busiestCpuShare: busiest(samples, 5_000), peakRssMiB, summary })}\n`,
);
// The instance's relay stays open (as on FC, between invocations): nothing else ends the process.
process.exit(0);

/** The most CPU per second over any stretch of at least `windowMs` (the whole run if shorter). */
function busiest(points: ReadonlyArray<[number, number]>, windowMs: number): number {
  let most = 0;
  let j = 0;
  for (let i = 0; i < points.length; i++) {
    const [t0, c0] = points[i] as [number, number];
    while (j < points.length - 1 && (points[j] as [number, number])[0] - t0 < windowMs) j++;
    const [t1, c1] = points[j] as [number, number];
    if (t1 - t0 < windowMs && i > 0) break;
    if (t1 > t0) most = Math.max(most, (c1 - c0) / (t1 - t0));
  }
  return most;
}
