/**
 * `npm run bench`: each benchmark measures the project against a bare baseline in the same run,
 * with servers in separate processes on loopback, and reports the ratio. `--json` for machines.
 */
import { parseArgs } from "node:util";
import { benchFanOut } from "./fanout.js";
import { benchQuanmiaoClient } from "./quanmiao-client.js";
import { benchRelayEndToEnd } from "./relay-e2e.js";
import { report } from "./support.js";

const { values } = parseArgs({
  options: {
    json: { type: "boolean", default: false },
    calls: { type: "string", default: "10000" },
    rounds: { type: "string", default: "3" },
    tasks: { type: "string", default: "10000" },
    deliveries: { type: "string", default: "2000" },
    only: { type: "string" },
  },
});
const calls = Number(values.calls);
const rounds = Number(values.rounds);
if (!Number.isInteger(calls) || calls < 1 || !Number.isInteger(rounds) || rounds < 1) {
  process.stderr.write("usage: npm run bench -- [--json] [--calls N] [--rounds N]\n");
  process.exit(2);
}
const tasks = Number(values.tasks);
const deliveries = Number(values.deliveries);
const rows = [];
const want = (name: string) => values.only === undefined || values.only.split(",").includes(name);
if (want("client")) rows.push(...(await benchQuanmiaoClient(calls, rounds)));
if (want("e2e")) rows.push(...(await benchRelayEndToEnd(tasks)));
if (want("fanout")) rows.push(...(await benchFanOut(deliveries, [1, 4, 16])));
report(rows, values.json);
