/**
 * Whether the @alicloud/credentials default chain has anything to read, found without a network
 * call. Asked with nothing configured, the chain still probes the ECS metadata address and a
 * credentials URI of "undefined" (a DNS lookup), and fails with a long error built from every
 * provider's message. So the relay asks it only when one of its sources is there, and otherwise
 * says in one sentence what to set.
 */
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

const isTrue = (text: string | undefined) => text?.toLowerCase() === "true";

/** The sources the chain would find, by name (empty: none). */
export function credentialChainSources(
  env: NodeJS.ProcessEnv | Readonly<Record<string, string | undefined>>,
  home: string = homedir(),
): string[] {
  const found: string[] = [];
  if (env.ALIBABA_CLOUD_ACCESS_KEY_ID) found.push("environment");
  if (env.ALIBABA_CLOUD_ROLE_ARN && env.ALIBABA_CLOUD_OIDC_PROVIDER_ARN && env.ALIBABA_CLOUD_OIDC_TOKEN_FILE)
    found.push("OIDC");
  if (!isTrue(env.ALIBABA_CLOUD_CLI_PROFILE_DISABLED) && home && existsSync(join(home, ".aliyun", "config.json")))
    found.push("aliyun CLI profile");
  if (env.ALIBABA_CLOUD_CREDENTIALS_FILE || (home && existsSync(join(home, ".alibabacloud", "credentials"))))
    found.push("credentials file");
  // The ECS RAM role only when named: probing the metadata address off ECS is a call to nowhere.
  if (env.ALIBABA_CLOUD_ECS_METADATA && !isTrue(env.ALIBABA_CLOUD_ECS_METADATA_DISABLED)) found.push("ECS RAM role");
  if (env.ALIBABA_CLOUD_CREDENTIALS_URI) found.push("credentials URI");
  return found;
}

export const NO_CREDENTIALS =
  "no Alibaba Cloud credentials found. Set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET " +
  "(or a profile in ~/.alibabacloud/credentials, ALIBABA_CLOUD_ECS_METADATA for an ECS RAM role, or the " +
  "ALIBABA_CLOUD_ROLE_ARN/OIDC variables); to try the relay without them, run `npm start`, which starts a " +
  "sandbox with the bundled API simulator.";
