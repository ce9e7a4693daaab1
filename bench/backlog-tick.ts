/**
 * One relay run in a fresh process, for the backlog scenario: prints its wall time, the process's
 * peak RSS and the run's summary as one JSON line. Configuration comes from the environment.
 */

import { SIM_CREDENTIAL } from "../dev/quanmiao-simulator/server.js";
import { staticCredentials } from "../lib/quanmiao/credentials.js";
import { openRelay } from "../lib/relay.js";
import { peakRssMiB as ownPeakRssMiB } from "./peak-rss.js";

const relay = await openRelay({ env: process.env, credentials: staticCredentials(SIM_CREDENTIAL) });
const started = performance.now();
const summary = await relay.tick();
const wallMs = performance.now() - started;
await relay.close();
const peakRssMiB = ownPeakRssMiB();
process.stdout.write(`${JSON.stringify({ wallMs, peakRssMiB, summary })}\n`);
