/**
 * `npm run bench`: every scenario measures the relay next to a baseline run in the same invocation,
 * with servers in separate processes on loopback, and reports the ratio (what holds on a noisy
 * machine). A table on stdout, or one JSON object with `--json`; `--quick` is a smoke run (under a
 * minute) with small sizes; `--only a,b` picks scenarios.
 */
import { parseArgs } from "node:util";
import { benchBacklog } from "./backlog.js";
import { benchColdStart } from "./cold-start.js";
import { benchContention } from "./contention.js";
import { benchPollingEconomy } from "./economy.js";
import { benchFanOut } from "./fanout.js";
import { benchLatencyBound } from "./latency.js";
import { benchQuanmiaoClient } from "./quanmiao-client.js";
import { benchShards } from "./shards.js";
import { benchStoreCost } from "./store-cost.js";
import { report, type ScenarioRow } from "./support.js";
import { benchThroughput } from "./throughput.js";

const { values } = parseArgs({
  options: {
    json: { type: "boolean", default: false },
    quick: { type: "boolean", default: false },
    only: { type: "string" },
  },
});
const quick = values.quick;
const scenarios: Record<string, () => Promise<ScenarioRow[]>> = {
  client: () => benchQuanmiaoClient(quick ? 500 : 10_000, quick ? 1 : 3),
  throughput: () => benchThroughput(quick ? 500 : 10_000),
  latency: () => benchLatencyBound(quick ? 100 : 500),
  economy: () =>
    quick
      ? benchPollingEconomy(300, 3, ["uniform", "learnable"])
      : benchPollingEconomy(5_000, 24, ["uniform", "learnable"]),
  backlog: () => (quick ? benchBacklog(5_000, 1_000) : benchBacklog(100_000, 20_000)),
  "store-cost": () => benchStoreCost(quick ? 50 : 500),
  contention: () => benchContention(quick ? 200 : 2_000, 4),
  fanout: () => benchFanOut(quick ? 200 : 2_000, quick ? [1, 4] : [1, 4, 16]),
  shards: () => (quick ? benchShards(2_000, 8, 8, 1_000) : benchShards(100_000, 8, 8, 10)),
  "cold-start": () => benchColdStart(7),
};
const only = values.only?.split(",") ?? Object.keys(scenarios);
const unknown = only.filter((name) => !(name in scenarios));
if (unknown.length > 0) {
  process.stderr.write(`unknown scenario ${unknown.join(", ")}; choose from ${Object.keys(scenarios).join(", ")}\n`);
  process.exit(2);
}
const rows: ScenarioRow[] = [];
for (const name of only) {
  const started = performance.now();
  rows.push(...(await (scenarios[name] as () => Promise<ScenarioRow[]>)()));
  process.stderr.write(`${name}: ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
}
report(rows, values.json);
