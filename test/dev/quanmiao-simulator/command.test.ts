import { describe, expect, it } from "vitest";
import { simulatorOptions } from "../../../dev/cli/simulator-command.js";
import { SIM_CREDENTIAL } from "../../../dev/quanmiao-simulator/server.js";

const flags = { port: "0", runTime: "1s", failureRate: "0", cancelRate: "0" };

describe("the simulator command's options", () => {
  it("accept the relay's own AccessKey beside the simulator's, so one key serves every dev server", () => {
    const key = { accessKeyId: "relay-dev", accessKeySecret: "relay-dev-secret" };
    expect(simulatorOptions(flags, key).credentials).toEqual([SIM_CREDENTIAL, key]);
    expect(simulatorOptions(flags).credentials).toEqual([SIM_CREDENTIAL]);
  });

  it("name what is wrong with a flag", () => {
    expect(() => simulatorOptions({ ...flags, runTime: "2m-1m" })).toThrow(/--run-time "2m-1m"/);
    expect(() => simulatorOptions({ ...flags, failureRate: "2" })).toThrow(
      /--failure-rate must be a number from 0 to 1/,
    );
  });
});
