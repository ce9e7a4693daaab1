/**
 * Which learned model a task is polled by (lib/runtimes.ts keeps and reads the models): the best
 * informed one trusted, per minute of its video where its length is known, then its own run times;
 * its profile's before its workspace's, the workspace's before the relay's; none means the prior.
 *
 * A workspace's model with YOUNG_SAMPLES ends, too few to be trusted alone, is trusted with the
 * spread pooled from every group the run knows (its own ends placing it), once that pool holds
 * POOLED_MIN_DOF degrees of freedom: a hierarchical estimate, since most kinds of work vary about
 * as much as each other and a few ends place a group well. The pool counts as ten of the model's
 * own ends (lib/runtimes.ts reads it so), so a group that varies more than the others soon shows it.
 */
import {
  ALL_PROFILES,
  MIN_SAMPLES,
  type RunTimeModel,
  VIDEO_PREFIX,
  VIDEO_UNIT_MS,
  type WorkspaceModels,
} from "./runtimes.js";

export const YOUNG_SAMPLES = 3;
/** A pooled spread needs this many degrees of freedom (ends beyond each group's first) in all. */
const POOLED_MIN_DOF = 20;

/** A level's trusted model for a task: its profile's, else the level's whole, else none. */
function trusted(models: WorkspaceModels | undefined, profile: string | undefined, prefix: string) {
  if (!models) return undefined;
  const own = profile === undefined ? undefined : models[prefix + profile];
  if (own && own.samples >= MIN_SAMPLES) return own;
  const all = models[prefix + ALL_PROFILES];
  return all && all.samples >= MIN_SAMPLES ? all : undefined;
}

/**
 * A workspace's young model for a task, read with the pooled spread: its profile's, or, for a task
 * without one, the workspace's whole where it holds a single kind of work (with profiles it is a
 * mixture, which no one group's spread describes).
 */
function young(models: WorkspaceModels, profile: string | undefined, prefix: string, pooledSd: number | undefined) {
  if (pooledSd === undefined) return undefined;
  const hasProfiles = Object.keys(models).some((k) => k !== prefix + ALL_PROFILES && isKeyOf(k, prefix));
  const model =
    profile !== undefined ? models[prefix + profile] : hasProfiles ? undefined : models[prefix + ALL_PROFILES];
  if (!model || model.samples < YOUNG_SAMPLES || model.samples >= MIN_SAMPLES) return undefined;
  return withPooledSd(model, pooledSd);
}

const isKeyOf = (key: string, prefix: string) =>
  prefix === "" ? !key.startsWith(VIDEO_PREFIX) : key.startsWith(prefix);

const youngCache = new WeakMap<RunTimeModel, RunTimeModel>();
/** The same young model and pooled spread give the same object, so its schedules stay cached. */
function withPooledSd(model: RunTimeModel, pooledSd: number): RunTimeModel {
  const rounded = Math.round(pooledSd * 100) / 100;
  const cached = youngCache.get(model);
  if (cached?.pooledSd === rounded) return cached;
  const read = { ...model, pooledSd: rounded };
  youngCache.set(model, read);
  return read;
}

/** The spread (in bins) within the groups among a run's models, for young ones to be read with. */
export interface PooledSpread {
  /** Of run-time models. */
  readonly runSd?: number;
  /** Of run time per minute of video. */
  readonly videoSd?: number;
}

/**
 * Pools the spread within every single-kind group in `sets` (one set per workspace) of two ends or
 * more: a profile's model, or a workspace's whole where it has no profiles (with profiles it is a
 * mixture). Each group's squared deviations about its own mean are summed and divided by the
 * groups' degrees of freedom together; none until they reach POOLED_MIN_DOF.
 */
export function pooledSpread(sets: readonly WorkspaceModels[]): PooledSpread {
  const pool = (prefix: string) => {
    let dof = 0;
    let sum = 0;
    for (const models of sets) {
      const keys = Object.keys(models).filter((k) => isKeyOf(k, prefix));
      const single = keys.filter((k) => k !== prefix + ALL_PROFILES);
      for (const key of single.length > 0 ? single : keys) {
        const model = models[key];
        if (!model || model.samples < 2) continue;
        const raw = Object.entries(model.bins).map(([bin, w]) => [Number(bin), w] as const);
        const n = raw.reduce((a, [, w]) => a + w, 0);
        const mean = raw.reduce((a, [bin, w]) => a + bin * w, 0) / n;
        // Each group's squared deviations about its own mean, and its n − 1 degrees of freedom.
        sum += raw.reduce((a, [bin, w]) => a + (bin - mean) ** 2 * w, 0);
        // Ends remembered (faded weight, about a hundred at most), counted whole.
        dof += Math.min(model.samples, Math.round(n)) - 1;
      }
    }
    return dof >= POOLED_MIN_DOF ? Math.sqrt(sum / dof) : undefined;
  };
  const runSd = pool("");
  const videoSd = pool(VIDEO_PREFIX);
  return { ...(runSd !== undefined ? { runSd } : {}), ...(videoSd !== undefined ? { videoSd } : {}) };
}

export interface ChosenModel {
  readonly model: RunTimeModel;
  /** Run time per unit of the model: 1, or the video's length per VIDEO_UNIT_MS for a video model. */
  readonly scale: number;
  readonly source: "profile" | "workspace" | "relay";
  readonly perVideo: boolean;
}

/**
 * The best-informed trusted model for a task: per minute of its video where its length is known,
 * then its own run times; its profile's before its workspace's, the workspace's before the
 * relay's (every workspace's ends together); none means the prior.
 */
export function chooseModel(
  own: WorkspaceModels | undefined,
  relay: WorkspaceModels | undefined,
  profile: string | undefined,
  videoMs: number | undefined,
  pooled: PooledSpread = {},
): ChosenModel | undefined {
  const kinds = videoMs !== undefined && videoMs > 0 ? [true, false] : [false];
  const chosen = (model: RunTimeModel, perVideo: boolean, level: "workspace" | "relay", isProfile: boolean) => ({
    model,
    scale: perVideo ? (videoMs as number) / VIDEO_UNIT_MS : 1,
    source: isProfile && level === "workspace" ? ("profile" as const) : level,
    perVideo,
  });
  const levels: Array<[WorkspaceModels | undefined, "workspace" | "relay"]> = [
    [own, "workspace"],
    [relay, "relay"],
  ];
  for (const [models, level] of levels) {
    for (const perVideo of kinds) {
      const model = trusted(models, profile, perVideo ? VIDEO_PREFIX : "");
      if (!model) continue;
      return chosen(
        model,
        perVideo,
        level,
        profile !== undefined && model === models?.[(perVideo ? VIDEO_PREFIX : "") + profile],
      );
    }
    // A workspace's own few ends, read with the pooled spread, know it better than every workspace's.
    for (const perVideo of level === "workspace" && own ? kinds : []) {
      const model = young(
        own as WorkspaceModels,
        profile,
        perVideo ? VIDEO_PREFIX : "",
        perVideo ? pooled.videoSd : pooled.runSd,
      );
      if (model) return chosen(model, perVideo, level, profile !== undefined);
    }
  }
  return undefined;
}
