/**
 * `listen`'s signing secret: one per relay, kept in the user's configuration directory, so a local
 * endpoint configured with it once keeps verifying across restarts of `listen` (as `stripe
 * listen`'s secret does). The file holds secrets, so it is written 0600 in a 0700 directory, and
 * replaced whole (write, then rename) so that a crash never leaves half a file.
 */
import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import type { Env } from "../config.js";
import { RelayError } from "../errors.js";
import { newSecret } from "../secrets.js";

export const SECRET_PATTERN = /^whsec_[A-Za-z0-9+/=]{20,}$/;

/** The secrets file is there but cannot be used: nothing is overwritten until someone looks at it. */
export class ListenSecretFileError extends RelayError {
  readonly retryable = false;
}

/** `$XDG_CONFIG_HOME/quanmiao-relay/listen-secrets.json`, else under `~/.config`. */
export function listenSecretsFile(env: Env): string {
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), ".config");
  return join(base, "quanmiao-relay", "listen-secrets.json");
}

async function readSecrets(file: string): Promise<Record<string, string>> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw new ListenSecretFileError(`cannot read ${file}: ${(error as Error).message}`, { cause: error });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    parsed = error;
  }
  const valid =
    typeof parsed === "object" &&
    parsed !== null &&
    !Array.isArray(parsed) &&
    Object.values(parsed).every((s) => typeof s === "string" && SECRET_PATTERN.test(s));
  if (!valid) {
    throw new ListenSecretFileError(
      `${file} is not a JSON object of relay URLs to whsec_ secrets; fix it, or delete it to start afresh`,
    );
  }
  return parsed as Record<string, string>;
}

export interface ListenSecret {
  readonly secret: string;
  readonly file: string;
  /** Made now: first use for this relay, or `rotate`. */
  readonly created: boolean;
}

/** The secret for `relay` (its origin), made and saved on first use or when `rotate` is set. */
export async function listenSecret(env: Env, relay: URL, rotate: boolean): Promise<ListenSecret> {
  const file = listenSecretsFile(env);
  const secrets = await readSecrets(file);
  const kept = secrets[relay.origin];
  if (kept !== undefined && !rotate) {
    // An older file, or one copied with wider permissions, is narrowed: it holds secrets.
    await chmod(file, 0o600);
    return { secret: kept, file, created: false };
  }
  const secret = newSecret(randomBytes);
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const partial = `${file}.${process.pid}.tmp`;
  await writeFile(partial, `${JSON.stringify({ ...secrets, [relay.origin]: secret }, null, 2)}\n`, { mode: 0o600 });
  await rename(partial, file);
  return { secret, file, created: true };
}
