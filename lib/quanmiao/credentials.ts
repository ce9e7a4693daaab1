/**
 * Where the AccessKey comes from. A provider is called once per request, because on Function
 * Compute the role's STS credentials arrive in each invocation's context and rotate.
 */

import { createRequire } from "node:module";
import { coerceError } from "../errors.js";
import { credentialChainSources, NO_CREDENTIALS } from "./credential-sources.js";
import { CredentialsError } from "./errors.js";

export interface Credentials {
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  readonly securityToken?: string | undefined;
}

export type CredentialsProvider = () => Credentials | Promise<Credentials>;

export const CREDENTIAL_ENV = {
  accessKeyId: "ALIBABA_CLOUD_ACCESS_KEY_ID",
  accessKeySecret: "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
  securityToken: "ALIBABA_CLOUD_SECURITY_TOKEN",
} as const;

export function staticCredentials(credentials: Credentials): CredentialsProvider {
  const frozen = Object.freeze({ ...credentials });
  return () => frozen;
}

interface AlicloudCredentialClient {
  getCredential(): Promise<{ accessKeyId?: string; accessKeySecret?: string; securityToken?: string }>;
}

/**
 * The default chain of `@alicloud/credentials` (profile file, ECS RAM role, OIDC, …), as the other
 * Alibaba Cloud tools use it, asked only when one of its sources is there (credential-sources.ts).
 * Loaded on first use: it is big, and most runs never need it. `env` and `home` are what the chain
 * itself reads (process.env, the user's home).
 */
export function defaultCredentialChain(
  env: NodeJS.ProcessEnv | Readonly<Record<string, string | undefined>> = process.env,
  home?: string,
): CredentialsProvider {
  let client: AlicloudCredentialClient | undefined;
  return async () => {
    // Read on each call, like the chain itself: a credentials file may appear while the relay runs.
    const sources = credentialChainSources(env, home);
    if (sources.length === 0) throw new CredentialsError(NO_CREDENTIALS);
    try {
      if (!client) {
        const require = createRequire(import.meta.url);
        const Credential = require("@alicloud/credentials").default as new () => AlicloudCredentialClient;
        client = new Credential();
      }
      const c = await client.getCredential();
      if (!c.accessKeyId || !c.accessKeySecret) throw new Error("the chain returned an empty key");
      return {
        accessKeyId: c.accessKeyId,
        accessKeySecret: c.accessKeySecret,
        securityToken: c.securityToken || undefined,
      };
    } catch (cause) {
      throw new CredentialsError(
        `the Alibaba Cloud credentials from ${sources.join(", ")} could not be loaded: ${errorSummary(cause)}. ` +
          `Fix them, or set ${CREDENTIAL_ENV.accessKeyId} and ${CREDENTIAL_ENV.accessKeySecret}.`,
        { cause },
      );
    }
  };
}

/** An explicit provider (FC context) wins; then the configured key (config.credentials); then the default chain. */
export function resolveCredentials(
  configured: Credentials | undefined,
  provider?: CredentialsProvider,
): CredentialsProvider {
  if (provider) return provider;
  return configured ? staticCredentials(configured) : defaultCredentialChain();
}

/** The first line of the chain's error, shortened at a word, never inside one. */
function errorSummary(cause: unknown): string {
  const line = coerceError(cause).message.split("\n")[0] ?? "";
  if (line.length <= 300) return line.replace(/[.\s]+$/, "");
  return `${line.slice(0, 300).replace(/\s+\S*$/, "")} …`;
}
