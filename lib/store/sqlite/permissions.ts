/**
 * The SQLite store holds every webhook signing secret in clear, so its files are the owner's alone.
 * What the relay creates it makes private with explicit modes (chmod after mkdir and open, which
 * apply the umask); SQLite gives the -wal, -shm and -journal files it creates the database file's
 * mode. Files already there are the operator's: they are left as they are, and reported when
 * others may read them.
 */
import { chmodSync, closeSync, fchmodSync, mkdirSync, openSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";

export const FOLDER_MODE = 0o700;
export const FILE_MODE = 0o600;
const SIDECARS = ["-wal", "-shm", "-journal"];

/** Creates the store's missing folders (0700) and an empty database file (0600), which SQLite opens as a new database. */
export function createPrivately(path: string): void {
  const folder = resolve(dirname(path));
  const made = mkdirSync(folder, { recursive: true, mode: FOLDER_MODE });
  if (made !== undefined) {
    const first = resolve(made);
    for (let d = folder; ; d = dirname(d)) {
      chmodSync(d, FOLDER_MODE);
      if (d === first || d === dirname(d)) break;
    }
  }
  let fd: number;
  try {
    fd = openSync(path, "wx", FILE_MODE);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return;
    throw error;
  }
  try {
    fchmodSync(fd, FILE_MODE);
  } finally {
    closeSync(fd);
  }
}

export interface ExposedPath {
  readonly path: string;
  /** Octal, as `ls -l` and chmod take it: "0644". */
  readonly mode: string;
}

/** The store's folder and files (database, -wal, -shm, -journal) that anyone but their owner may use. */
export function exposedStorePaths(path: string): ExposedPath[] {
  const exposed: ExposedPath[] = [];
  for (const p of [dirname(path), path, ...SIDECARS.map((s) => `${path}${s}`)]) {
    let mode: number;
    try {
      mode = statSync(p).mode & 0o777;
    } catch {
      continue;
    }
    if (mode & 0o077) exposed.push({ path: p, mode: `0${mode.toString(8)}` });
  }
  return exposed;
}
