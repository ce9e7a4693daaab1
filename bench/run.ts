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
import { benchEventBridge } from "./eventbridge.js";
import { benchFanOut } from "./fanout.js";
import { benchLatencyBound } from "./latency.js";
import { benchLingerCost } from "./linger-cost.js";
import { benchNoisyNeighbours } from "./noisy.js";
import { benchQuanmiaoClient } from "./quanmiao-client.js";
import { benchShards } from "./shards.js";
import { benchStoreCost } from "./store-cost.js";
import { report, type ScenarioRow } from "./support.js";
import { benchThroughput } from "./throughput.js";

/** Each scenario at full size, or at smoke-run size when `quick`. */
const scenariosOf = (quick: boolean): Record<string, () => Promise<ScenarioRow[]>> => ({
  client: () => benchQuanmiaoClient(quick ? 500 : 10_000, quick ? 1 : 3),
  throughput: () => benchThroughput(quick ? 500 : 10_000),
  latency: () => benchLatencyBound(quick ? 100 : 500),
  economy: () =>
    quick
      ? benchPollingEconomy({ tasks: 300, hours: 3, targetsS: [10], hintTargetsS: [10] })
      : benchPollingEconomy({ tasks: 5_000, hours: 24, targetsS: [5, 10, 20, 30], hintTargetsS: [10] }),
  backlog: () => (quick ? benchBacklog(5_000, 1_000) : benchBacklog(100_000, 20_000)),
  "store-cost": () => benchStoreCost(quick ? 50 : 500, quick ? 5_000 : 50_000),
  contention: () => benchContention(quick ? 200 : 2_000, 4),
  fanout: () => benchFanOut(quick ? 200 : 2_000, quick ? [1, 4] : [1, 4, 16]),
  shards: () => (quick ? benchShards(2_000, 8, 8, 1_000) : benchShards(100_000, 8, 8, 10)),
  eventbridge: () => benchEventBridge(quick ? 500 : 10_000),
  "cold-start": () => benchColdStart(7),
  "linger-cost": () => (quick ? benchLingerCost(60, 10) : benchLingerCost(300, 60)),
  "noisy-neighbours": () =>
    benchNoisyNeighbours({
      tasks: quick ? 100 : 2_000,
      healthy: quick ? 4 : 20,
      badOfEach: 2,
      waves: quick ? 2 : 4,
      runTimeMs: quick ? 2_000 : 8_000,
      budgetMs: quick ? 4_000 : 10_000,
      windowMs: quick ? 12_000 : 240_000,
      baselineWindowMs: quick ? 20_000 : 240_000,
    }),
});
const names = Object.keys(scenariosOf(false));
const USAGE = `usage: npm run bench -- [--quick] [--json] [--only a,b]
  --quick   a smoke run with small sizes (under a minute)
  --json    one JSON object on stdout instead of the table
  --only    these scenarios, comma-separated: `;

function parseOptions() {
  try {
    return parseArgs({
      options: {
        json: { type: "boolean", default: false },
        quick: { type: "boolean", default: false },
        only: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    }).values;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}${names.join(", ")}\n`);
    process.exit(2);
  }
}

const values = parseOptions();
if (values.help) {
  process.stdout.write(`${USAGE}${names.join(", ")}\n`);
  process.exit(0);
}
const scenarios = scenariosOf(values.quick);
const only = values.only?.split(",") ?? names;
const unknown = only.filter((name) => !(name in scenarios));
if (unknown.length > 0) {
  process.stderr.write(`unknown scenario ${unknown.join(", ")}; choose from ${names.join(", ")}\n`);
  process.exit(2);
}
const rows: ScenarioRow[] = [];
for (const name of only) {
  const started = performance.now();
  rows.push(...(await (scenarios[name] as () => Promise<ScenarioRow[]>)()));
  process.stderr.write(`${name}: ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
}
report(rows, values.json);
