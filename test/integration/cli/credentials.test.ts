/**
 * Without credentials, and with credentials a service refuses: what a cron job's `tick` and a
 * person's command say, and the exit codes of README's table (3 credentials, 5 auth).
 */
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { SIM_CREDENTIAL, startSimulator } from "../../../dev/quanmiao-simulator/server.js";
import { EMULATOR_CREDENTIAL, startTablestoreEmulator } from "../../../dev/tablestore-emulator/server.js";
import { EXIT } from "../../../lib/cli.js";
import { credentialChainSources, NO_CREDENTIALS } from "../../../lib/quanmiao/credential-sources.js";
import { defaultCredentialChain } from "../../../lib/quanmiao/credentials.js";
import { CredentialsError } from "../../../lib/quanmiao/errors.js";
import { bareEnv, emptyFolder, run } from "../../support/bin.js";

describe("where the default chain could find credentials", () => {
  it("finds nothing in an empty home and environment, and says so in one whole sentence without asking it", async () => {
    const home = emptyFolder();
    expect(credentialChainSources({}, home)).toEqual([]);
    const refused = await Promise.resolve()
      .then(defaultCredentialChain({}, home))
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(CredentialsError);
    expect((refused as Error).message).toBe(NO_CREDENTIALS);
    expect(NO_CREDENTIALS).toMatch(/ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET/);
    expect(NO_CREDENTIALS).toMatch(/`npm start`, which starts a sandbox with the bundled API simulator\.$/);
  });

  it("names each source it would read: files in the home, and the variables of the others", () => {
    const home = emptyFolder();
    mkdirSync(join(home, ".alibabacloud"));
    writeFileSync(join(home, ".alibabacloud", "credentials"), "[default]\n");
    mkdirSync(join(home, ".aliyun"));
    writeFileSync(join(home, ".aliyun", "config.json"), "{}");
    expect(credentialChainSources({}, home)).toEqual(["aliyun CLI profile", "credentials file"]);
    expect(credentialChainSources({ ALIBABA_CLOUD_CLI_PROFILE_DISABLED: "true" }, home)).toEqual(["credentials file"]);
    const empty = emptyFolder();
    const oidc = {
      ALIBABA_CLOUD_ROLE_ARN: "acs:ram::1:role/r",
      ALIBABA_CLOUD_OIDC_PROVIDER_ARN: "acs:ram::1:oidc-provider/p",
      ALIBABA_CLOUD_OIDC_TOKEN_FILE: "/var/run/token",
    };
    expect(credentialChainSources(oidc, empty)).toEqual(["OIDC"]);
    expect(credentialChainSources({ ALIBABA_CLOUD_ROLE_ARN: "acs:ram::1:role/r" }, empty)).toEqual([]);
    // The ECS role only when named, and not when disabled.
    expect(credentialChainSources({ ALIBABA_CLOUD_ECS_METADATA: "relay-role" }, empty)).toEqual(["ECS RAM role"]);
    const disabled = { ALIBABA_CLOUD_ECS_METADATA: "relay-role", ALIBABA_CLOUD_ECS_METADATA_DISABLED: "TRUE" };
    expect(credentialChainSources(disabled, empty)).toEqual([]);
    expect(credentialChainSources({ ALIBABA_CLOUD_CREDENTIALS_URI: "http://127.0.0.1:1/" }, empty)).toEqual([
      "credentials URI",
    ]);
    expect(credentialChainSources({ ALIBABA_CLOUD_CREDENTIALS_FILE: "/etc/relay/credentials" }, empty)).toEqual([
      "credentials file",
    ]);
  });
});

describe("tick without credentials", () => {
  it("exits 3 with the whole sentence before any call, where it used to log a DNS error and exit 0", async () => {
    const sim = await startSimulator({ runMs: 0 });
    onTestFinished(() => sim.close());
    const cwd = emptyFolder();
    const env = bareEnv(cwd, { RELAY_STORE: `sqlite:${join(cwd, "relay.db")}`, QUANMIAO_ENDPOINT: sim.url });
    // A task to poll: registering needs no credentials.
    expect((await run(["tasks", "add", "llm-x", "task-1"], { env, cwd })).code).toBe(EXIT.ok);
    const tick = await run(["tick"], { env, cwd });
    expect(tick.code).toBe(EXIT.config);
    expect(tick.out).toBe("");
    expect(tick.err).toBe(`error: CredentialsError: ${NO_CREDENTIALS}\n`);
    expect(sim.stats().connections).toBe(0);
  });

  it("a first tick in a fresh folder leaves no empty database behind", async () => {
    const cwd = emptyFolder();
    const tick = await run(["tick"], { env: bareEnv(cwd, {}), cwd });
    expect(tick.code).toBe(EXIT.config);
    expect(tick.err).toBe(`error: CredentialsError: ${NO_CREDENTIALS}\n`);
    expect(readdirSync(cwd)).toEqual([]);
  });
});

describe("a Tablestore that refuses the relay", () => {
  it("exits 5 for a wrong key, a wrong secret or a wrong instance, naming what to check", async () => {
    const emulator = await startTablestoreEmulator({ credentials: [EMULATOR_CREDENTIAL] });
    onTestFinished(() => emulator.close());
    const cwd = emptyFolder();
    const env = (key: { accessKeyId: string; accessKeySecret: string }, instance = emulator.instance) =>
      bareEnv(cwd, {
        RELAY_STORE: "tablestore",
        TABLESTORE_ENDPOINT: emulator.url,
        TABLESTORE_INSTANCE: instance,
        QUANMIAO_ENDPOINT: "http://127.0.0.1:9",
        ALIBABA_CLOUD_ACCESS_KEY_ID: key.accessKeyId,
        ALIBABA_CLOUD_ACCESS_KEY_SECRET: key.accessKeySecret,
      });
    expect((await run(["init"], { env: env(EMULATOR_CREDENTIAL), cwd })).code).toBe(EXIT.ok);
    const cases = [
      env(SIM_CREDENTIAL),
      env({ ...EMULATOR_CREDENTIAL, accessKeySecret: "not-the-secret" }),
      env(EMULATOR_CREDENTIAL, "other-instance"),
    ];
    for (const wrong of cases) {
      for (const argv of [["tick"], ["tasks", "list"], ["dev"]]) {
        const result = await run(argv, { env: { ...wrong, RELAY_API_PORT: "0" }, cwd });
        expect(result.code, `${argv.join(" ")} with ${wrong.TABLESTORE_INSTANCE}: ${result.err}`).toBe(EXIT.auth);
        expect(result.err).toMatch(
          /^error: \w+: OTSAuthFailed: .+check ALIBABA_CLOUD_ACCESS_KEY_ID\/_SECRET and TABLESTORE_INSTANCE/,
        );
      }
    }
    // The right ones still work, and the run said nothing about the store.
    const right = await run(["tick"], { env: env(EMULATOR_CREDENTIAL), cwd });
    expect(right.code).toBe(EXIT.ok);
    expect(JSON.parse(right.out)).toMatchObject({ errors: 0 });
  });
});
