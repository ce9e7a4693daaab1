import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { deployedPollSize, isFcSize } from "../../../bench/fc-cost.js";
import { loadConfig } from "../../../lib/config.js";
import { budgetFrom } from "../../../lib/fc/context.js";

const root = new URL("../../../", import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), "utf8");

interface Props {
  runtime: string;
  code: string;
  handler: string;
  memorySize: number;
  cpu?: number;
  timeout: number;
  functionName: string;
  environmentVariables: unknown;
  asyncInvokeConfig?: { maxAsyncRetryAttempts?: number; maxAsyncEventAgeInSeconds?: number };
  concurrencyConfig?: { reservedConcurrency: number };
  triggers?: Array<{ triggerType: string; triggerConfig: Record<string, unknown> }>;
}

describe("s.yaml", () => {
  const doc = parse(read("s.yaml")) as {
    edition: string;
    vars: { environment: Record<string, string> };
    resources: Record<string, { component: string; props: Props }>;
  };

  it("is Serverless Devs 3 with three fc3 functions on nodejs20", () => {
    expect(doc.edition).toBe("3.0.0");
    expect(Object.keys(doc.resources).sort()).toEqual(["api", "deliver", "poll"]);
    for (const { component, props } of Object.values(doc.resources)) {
      expect(component).toBe("fc3");
      expect(props.runtime).toBe("nodejs20");
      expect(props.functionName).toMatch(/^quanmiao-relay-/);
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a Serverless Devs reference, literally
      expect(props.environmentVariables).toBe("${vars.environment}");
    }
  });

  it("points each handler at a bundle the build makes, exporting that handler", () => {
    for (const [name, { props }] of Object.entries(doc.resources)) {
      const [file, exported] = props.handler.split(".");
      expect(props.code).toBe(`./dist/${name}`);
      const bundle = new URL(`dist/${name}/${file}.js`, root);
      expect(existsSync(bundle), `${bundle.pathname} (run npm run build)`).toBe(true);
      expect(read(`functions/${name}/index.ts`)).toMatch(new RegExp(`export (async function|const) ${exported}\\b`));
    }
  });

  it("has sane triggers, timeouts and memory, and FC retries off where rows carry them", () => {
    const { poll, deliver, api } = doc.resources as Record<string, { props: Props }>;
    for (const { props } of [poll, deliver, api] as Array<{ props: Props }>) {
      expect(props.memorySize % 64).toBe(0);
      // The poll function's size is measured (linger-cost); the others keep room for bursts.
      expect(props.memorySize).toBeGreaterThanOrEqual(props === poll?.props ? 128 : 256);
      expect(props.timeout).toBeGreaterThanOrEqual(10);
      expect(props.timeout).toBeLessThanOrEqual(600);
    }
    expect(poll?.props.triggers).toEqual([
      {
        triggerName: "every-minute",
        triggerType: "timer",
        triggerConfig: { cronExpression: "@every 1m", enable: true, payload: "" },
      },
    ]);
    // A run must end well before the next tick starts another (the budget is the timeout less 10 %).
    expect(poll?.props.timeout).toBeLessThanOrEqual(180);
    expect(poll?.props.asyncInvokeConfig?.maxAsyncRetryAttempts).toBe(0);
    expect(deliver?.props.asyncInvokeConfig?.maxAsyncRetryAttempts).toBe(0);
    expect(deliver?.props.asyncInvokeConfig?.maxAsyncEventAgeInSeconds).toBeLessThanOrEqual(3_600);
    const instances = deliver?.props.concurrencyConfig?.reservedConcurrency ?? 0;
    expect(instances).toBeGreaterThanOrEqual(1);
    expect(instances).toBeLessThanOrEqual(100); // FC's default quota per region
    expect(api?.props.triggers?.[0]).toMatchObject({ triggerType: "http", triggerConfig: { authType: "anonymous" } });
  });

  it("sizes the poll function as docs/deploying.md states, a size FC 3.0 accepts", () => {
    const stated = read("docs/deploying.md").match(/poll function runs at \*\*(\d+) MB and ([\d.]+) vCPU\*\*/);
    expect(stated, "docs/deploying.md states the poll function's size").not.toBeNull();
    const poll = doc.resources.poll?.props;
    expect({ memoryMb: poll?.memorySize, vcpu: poll?.cpu }).toEqual({
      memoryMb: Number(stated?.[1]),
      vcpu: Number(stated?.[2]),
    });
    expect(isFcSize({ memoryMb: poll?.memorySize ?? 0, vcpu: poll?.cpu ?? 0 })).toBe(true);
    // What the linger-cost benchmark checks its measurement against and bills.
    expect(deployedPollSize()).toEqual({ memoryMb: poll?.memorySize, vcpu: poll?.cpu });
  });

  it("fans out from poll to the deliver function that s.yaml deploys", () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a Serverless Devs reference, literally
    expect(doc.vars.environment.RELAY_DISPATCH).toBe("${env('RELAY_DISPATCH', 'fc')}");
    // What FC sets in every instance, plus the s.yaml environment with its default.
    const config = loadConfig({ RELAY_DISPATCH: "fc", FC_ACCOUNT_ID: "1234", FC_REGION: "cn-beijing" });
    expect(config.dispatch.mode === "fc" && config.dispatch.functionName).toBe(
      doc.resources.deliver?.props.functionName,
    );
    const policy = read("deploy/ram-policy.json");
    expect(policy).toContain(`functions/${doc.resources.deliver?.props.functionName}"`);
  });

  it("lets poll runs linger for the timer's minute, within the budget its timeout gives", () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a Serverless Devs reference, literally
    expect(doc.vars.environment.RELAY_LINGER).toBe("${env('RELAY_LINGER', '60s')}");
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a Serverless Devs reference, literally
    expect(doc.vars.environment.RELAY_DETECTION_TARGET).toBe("${env('RELAY_DETECTION_TARGET', '10s')}");
    const config = loadConfig({ RELAY_LINGER: "60s", RELAY_DETECTION_TARGET: "10s" });
    expect(config.tick.lingerMs).toBe(60_000);
    expect(config.poll.detectionTargetMs).toBe(10_000);
    const poll = doc.resources.poll?.props;
    expect(poll?.triggers?.[0]?.triggerConfig).toMatchObject({ cronExpression: "@every 1m" });
    // The run's budget (timeout less 10 %) leaves its 10 s reserve after a full minute of lingering.
    const budgetMs = budgetFrom({ function: { timeout: poll?.timeout ?? 0 } }, loadConfig({}).tick);
    expect(budgetMs - 10_000).toBeGreaterThanOrEqual(config.tick.lingerMs as number);
  });

  it("writes no installation's values into the file: they come from the environment", () => {
    for (const [key, value] of Object.entries(doc.vars.environment)) {
      if (key === "RELAY_STORE") continue;
      expect(value, key).toMatch(/^\$\{env\('/);
    }
    expect(read("s.yaml")).not.toMatch(/whsec_|LTAI|ots\.aliyuncs\.com/);
  });

  it("comes with the RAM policy the function role needs", () => {
    const policy = JSON.parse(read("deploy/ram-policy.json")) as { Statement: Array<{ Action: string[] }> };
    const actions = policy.Statement.flatMap((s) => s.Action);
    for (const a of [
      "ots:UpdateRow",
      "ots:GetRange",
      "ots:BatchWriteRow",
      "quanmiaolightapp:GetVideoAnalysisTask",
      "quanmiaolightapp:GetVideoAnalysisConfig",
      "quanmiaolightapp:SubmitVideoAnalysisTask",
      "fc:InvokeFunction",
      "eventbridge:PutEvents",
    ]) {
      expect(actions).toContain(a);
    }
    // Poll and deliver publish to EventBridge: both run as the role the policy is written for.
    for (const fn of ["poll", "deliver"]) {
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a Serverless Devs reference, literally
      expect((doc.resources[fn]?.props as { role?: unknown } | undefined)?.role, fn).toBe("${vars.role}");
    }
    expect(read("s.yaml")).toMatch(/eventbridge:PutEvents/);
  });
});
