/**
 * A running task's output as the simulator shows it: each part of the final output finishes at its
 * own point of the run — captions (speech recognition) first, then the shot analysis, then the
 * generations, each item of a multi-task list on its own — so a poll while RUNNING may find some
 * parts finished and others not, as the live API's `task-progress` answers do. The points are a
 * pure function of the task id, so a run on a fake clock sees the same thing every time.
 */
import { seededRandom } from "../seeded-random.js";
import type { SimTask } from "./workspace.js";

type Json = Record<string, unknown>;

/** Where in the run (0 = its start, 1 = its end) each kind of part finishes, as [from, to). */
const SPANS: Readonly<Record<string, readonly [number, number]>> = {
  videoCaptionResult: [0.1, 0.3],
  videoAnalysisResult: [0.35, 0.55],
  videoGenerateResult: [0.6, 0.75],
  videoGenerateResults: [0.55, 0.85],
  videoTitleGenerateResult: [0.8, 0.95],
  videoMindMappingGenerateResult: [0.8, 0.95],
};

/** When each part of `final` finishes, as a fraction of the run; list items by their place. */
export function finishPoints(taskId: string, final: Json): Map<string, number> {
  const random = seededRandom(`${taskId}:parts`);
  const points = new Map<string, number>();
  for (const [section, [from, to]] of Object.entries(SPANS)) {
    const value = final[section];
    if (value === undefined) continue;
    const count = Array.isArray(value) ? value.length : 1;
    for (let i = 0; i < count; i++) {
      points.set(Array.isArray(value) ? `${section}[${i}]` : section, from + random() * (to - from));
    }
  }
  return points;
}

const unfinished = (section: string, value: Json): Json =>
  section === "videoCaptionResult"
    ? // Recognised speech arrives as it goes: the first caption is there before the rest.
      { generateFinished: false, videoCaptions: (value.videoCaptions as unknown[] | undefined)?.slice(0, 1) ?? [] }
    : { generateFinished: false, ...(value.index === undefined ? {} : { index: value.index }) };

/** The parts of `final` (a SUCCESSED output) as a poll at `nowMs` finds them while the task runs. */
export function runningOutput(task: SimTask, final: Json, nowMs: number): Json {
  const elapsed = task.startedAtMs === undefined ? 0 : (nowMs - task.startedAtMs) / Math.max(1, task.runMs);
  const points = finishPoints(task.taskId, final);
  const done = (key: string) => elapsed >= (points.get(key) ?? Number.POSITIVE_INFINITY);
  const output: Json = {};
  for (const section of Object.keys(SPANS)) {
    const value = final[section];
    if (Array.isArray(value)) {
      output[section] = value.map((item: Json, i) => (done(`${section}[${i}]`) ? item : unfinished(section, item)));
    } else if (value !== undefined) {
      output[section] = done(section) ? value : unfinished(section, value as Json);
    }
  }
  return output;
}
