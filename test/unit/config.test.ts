import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../lib/config.js";
import { parseDuration } from "../../lib/duration.js";
import { resolveCredentials } from "../../lib/quanmiao/credentials.js";
import { CredentialsError } from "../../lib/quanmiao/errors.js";

describe("parseDuration", () => {
  it.each([
    ["500ms", 500],
    ["10s", 10_000],
    ["1.5s", 1_500],
    ["5m", 300_000],
    ["2h", 7_200_000],
    ["1d", 86_400_000],
    ["0", 0],
    [" 10s ", 10_000],
  ])("%s → %d ms", (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(["", "10", "-1s", "1 s", "1w", "s", "1e3s", "NaNs"])("rejects %j", (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe("loadConfig", () => {
  it("defaults, frozen", () => {
    const config = loadConfig({});
    expect(config.quanmiao).toEqual({
      endpoint: "https://quanmiaolightapp.cn-beijing.aliyuncs.com",
      connectTimeoutMs: 5_000,
      requestTimeoutMs: 30_000,
      connections: 8,
    });
    expect(Object.isFrozen(config.quanmiao)).toBe(true);
  });

  it("the circuit per endpoint: 5 failures, 30 s doubling to 10 min by default; out of range is an error at start", () => {
    expect(loadConfig({}).delivery.circuit).toEqual({ failures: 5, cooldownMs: 30_000, cooldownMaxMs: 600_000 });
    expect(
      loadConfig({ RELAY_CIRCUIT_FAILURES: "3", RELAY_CIRCUIT_COOLDOWN: "10s", RELAY_CIRCUIT_COOLDOWN_MAX: "1h" })
        .delivery.circuit,
    ).toEqual({ failures: 3, cooldownMs: 10_000, cooldownMaxMs: 3_600_000 });
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig(env);
      } catch (error) {
        return (error as ConfigError).problems.map((p) => p.variable);
      }
      return [];
    };
    expect(problems({ RELAY_CIRCUIT_FAILURES: "0" })).toEqual(["RELAY_CIRCUIT_FAILURES"]);
    expect(problems({ RELAY_CIRCUIT_FAILURES: "2.5" })).toEqual(["RELAY_CIRCUIT_FAILURES"]);
    expect(problems({ RELAY_CIRCUIT_COOLDOWN: "10ms" })).toEqual(["RELAY_CIRCUIT_COOLDOWN"]);
    expect(problems({ RELAY_CIRCUIT_COOLDOWN_MAX: "2d" })).toEqual(["RELAY_CIRCUIT_COOLDOWN_MAX"]);
    expect(problems({ RELAY_CIRCUIT_COOLDOWN: "5m", RELAY_CIRCUIT_COOLDOWN_MAX: "1m" })).toEqual([
      "RELAY_CIRCUIT_COOLDOWN",
    ]);
  });

  it("RELAY_API_ALLOWED_HOSTS: host names, lower-case, IPv6 in brackets; a URL, port or path is an error", () => {
    expect(loadConfig({}).api.allowedHosts).toBeUndefined();
    expect(
      loadConfig({ RELAY_API_ALLOWED_HOSTS: " Relay.Example.com, localhost,::1,[::1],10.0.0.1 " }).api.allowedHosts,
    ).toEqual(["relay.example.com", "localhost", "[::1]", "[::1]", "10.0.0.1"]);
    for (const bad of [
      "https://relay.example.com",
      "relay.example.com:443",
      "relay.example.com/v1",
      "a b",
      "-x.example",
      ",",
    ]) {
      expect(() => loadConfig({ RELAY_API_ALLOWED_HOSTS: bad }), bad).toThrow(/RELAY_API_ALLOWED_HOSTS/);
    }
  });

  it("blank means unset", () => {
    expect(loadConfig({ QUANMIAO_REQUEST_TIMEOUT: " " }).quanmiao.requestTimeoutMs).toBe(30_000);
  });

  it("reports every bad variable in one error", () => {
    let error: unknown;
    try {
      loadConfig({
        QUANMIAO_ENDPOINT: "http://example.com",
        QUANMIAO_CONNECT_TIMEOUT: "5",
        QUANMIAO_CONNECTIONS: "many",
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.variable).sort()).toEqual([
      "QUANMIAO_CONNECTIONS",
      "QUANMIAO_CONNECT_TIMEOUT",
      "QUANMIAO_ENDPOINT",
    ]);
  });

  it("lingering is off and the detection target 10 s by default; both take a duration or off", () => {
    const defaults = loadConfig({});
    expect(defaults.tick.lingerMs).toBeUndefined();
    expect(defaults.poll.detectionTargetMs).toBe(10_000);
    const set = loadConfig({ RELAY_LINGER: "55s", RELAY_DETECTION_TARGET: "off" });
    expect(set.tick.lingerMs).toBe(55_000);
    expect(set.poll.detectionTargetMs).toBeUndefined();
    expect(loadConfig({ RELAY_LINGER: "off" }).tick.lingerMs).toBeUndefined();
    expect(() => loadConfig({ RELAY_LINGER: "soon", RELAY_DETECTION_TARGET: "100ms" })).toThrow(
      /RELAY_DETECTION_TARGET: 100ms is out of range \(1s to 1h, or off\)\n {2}RELAY_LINGER: "soon" is not a duration or off/,
    );
  });

  it("fan-out: inline by default; fc addresses the deliver function from what FC sets", () => {
    expect(loadConfig({}).dispatch).toEqual({ mode: "inline" });
    expect(loadConfig({ RELAY_DISPATCH: "fc", FC_ACCOUNT_ID: "1234", FC_REGION: "cn-hangzhou" }).dispatch).toEqual({
      mode: "fc",
      functionName: "quanmiao-relay-deliver",
      batchSize: 100,
      accountId: "1234",
      region: "cn-hangzhou",
      endpoint: "https://1234.cn-hangzhou.fc.aliyuncs.com",
    });
    const internal = loadConfig({
      RELAY_DISPATCH: "fc",
      FC_ACCOUNT_ID: "1234",
      FC_REGION: "cn-hangzhou",
      RELAY_FC_ENDPOINT: "https://1234.cn-hangzhou-internal.fc.aliyuncs.com",
      RELAY_DELIVER_FUNCTION: "my-deliver",
      RELAY_FANOUT_BATCH: "500",
    }).dispatch;
    expect(internal).toMatchObject({
      endpoint: "https://1234.cn-hangzhou-internal.fc.aliyuncs.com",
      functionName: "my-deliver",
      batchSize: 500,
    });
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig(env);
        return [];
      } catch (error) {
        return (error as ConfigError).problems.map((p) => p.variable).sort();
      }
    };
    expect(problems({ RELAY_DISPATCH: "fc" })).toEqual(["FC_ACCOUNT_ID", "FC_REGION"]);
    expect(problems({ RELAY_DISPATCH: "queue" })).toEqual(["RELAY_DISPATCH"]);
    expect(
      problems({
        RELAY_DISPATCH: "fc",
        FC_ACCOUNT_ID: "12ab",
        FC_REGION: "cn-hangzhou",
        RELAY_FANOUT_BATCH: "5000",
        RELAY_DELIVER_FUNCTION: "9-bad name",
        RELAY_FC_ENDPOINT: "http://fc.example.com",
      }),
    ).toEqual(["FC_ACCOUNT_ID", "RELAY_DELIVER_FUNCTION", "RELAY_FANOUT_BATCH", "RELAY_FC_ENDPOINT"]);
  });
});

describe("EventBridge", () => {
  it("publishes to each account's own endpoint unless RELAY_EVENTBRIDGE_ENDPOINT names one; the FC account and region are a bus's defaults", () => {
    expect(loadConfig({}).eventBridge).toEqual({ endpoint: undefined, region: undefined, accountId: undefined });
    expect(
      loadConfig({ RELAY_EVENTBRIDGE_ENDPOINT: "http://127.0.0.1:8792", FC_ACCOUNT_ID: "42", FC_REGION: "cn-shanghai" })
        .eventBridge,
    ).toEqual({ endpoint: "http://127.0.0.1:8792", region: "cn-shanghai", accountId: "42" });
    expect(() => loadConfig({ RELAY_EVENTBRIDGE_ENDPOINT: "http://eb.example.com" })).toThrow(
      /RELAY_EVENTBRIDGE_ENDPOINT: endpoint "http:\/\/eb.example.com" must use https/,
    );
    expect(() => loadConfig({ RELAY_EVENTBRIDGE_ENDPOINT: "https://eb.example.com/openapi" })).toThrow(
      /RELAY_EVENTBRIDGE_ENDPOINT: .*origin only/,
    );
  });
});

describe("credentials from the environment", () => {
  it("reads the standard variables, the token optional", () => {
    expect(
      loadConfig({
        ALIBABA_CLOUD_ACCESS_KEY_ID: "id",
        ALIBABA_CLOUD_ACCESS_KEY_SECRET: "secret",
        ALIBABA_CLOUD_SECURITY_TOKEN: "tok",
      }).credentials,
    ).toEqual({ accessKeyId: "id", accessKeySecret: "secret", securityToken: "tok" });
    expect(loadConfig({}).credentials).toBeUndefined();
  });

  it("refuses half a pair, naming the missing variable and not the secret", () => {
    expect(() => loadConfig({ ALIBABA_CLOUD_ACCESS_KEY_SECRET: "s3cr3t" })).toThrow(ConfigError);
    expect(() => loadConfig({ ALIBABA_CLOUD_ACCESS_KEY_SECRET: "s3cr3t" })).toThrow(/ALIBABA_CLOUD_ACCESS_KEY_ID/);
    expect(() => loadConfig({ ALIBABA_CLOUD_ACCESS_KEY_SECRET: "s3cr3t" })).not.toThrow(/s3cr3t/);
  });

  it("an explicit provider (FC context) wins over the environment", async () => {
    const fromContext = { accessKeyId: "ctx", accessKeySecret: "ctx-s" };
    const provider = resolveCredentials({ accessKeyId: "env", accessKeySecret: "env-s" }, () => fromContext);
    expect(await provider()).toBe(fromContext);
  });

  it("without variables, the @alicloud/credentials chain is asked and its failure is a clear CredentialsError", async () => {
    // An empty HOME and no ECS metadata flag: the chain finds nothing, without any network call.
    const saved = { ...process.env };
    try {
      for (const key of Object.keys(process.env))
        if (key.startsWith("ALIBABA_CLOUD") || key.startsWith("ALICLOUD")) delete process.env[key];
      process.env.HOME = "/nonexistent-home";
      process.env.ALIBABA_CLOUD_ECS_METADATA_DISABLED = "true";
      const provider = resolveCredentials(undefined);
      await expect(Promise.resolve().then(provider)).rejects.toThrow(CredentialsError);
    } finally {
      process.env = saved;
    }
  });
});
