/**
 * The GetVideoAnalysisTask answer's typed view, parsed loosely (reference §3): every field is optional, unknown
 * fields are kept, numbers the docs show as strings are accepted, and a field of an unexpected type
 * becomes `undefined` in the typed view instead of failing the whole task. The raw `data` object is
 * kept untouched next to the view (task.ts), because subscribers receive exactly what the API said.
 */
import { z } from "zod";
import { NUMERIC, type ParsedTask } from "./task.js";

/** A field that may be absent or malformed; either way the typed view holds `undefined`. */
function opt<T extends z.ZodType>(schema: T) {
  return schema.optional().catch(undefined);
}

const num = z.union([z.number(), z.string().regex(NUMERIC).transform(Number)]);
const bool = z.union([z.boolean(), z.enum(["true", "false"]).transform((v) => v === "true")]);
const str = z.string();
const arrayOf = <T extends z.ZodType>(item: T) => opt(z.array(item));

const usage = z.looseObject({
  inputTokens: opt(num),
  outputTokens: opt(num),
  totalTokens: opt(num),
  imageTokens: opt(num),
});

const generated = {
  generateFinished: opt(bool),
  text: opt(str),
  usage: opt(usage),
};

const shot = z.looseObject({ startTime: opt(num), endTime: opt(num), text: opt(str) });
const caption = z.looseObject({
  startTime: opt(num),
  endTime: opt(num),
  startTimeFormat: opt(str),
  endTimeFormat: opt(str),
  text: opt(str),
  speaker: opt(str),
});
const generateResult = z.looseObject({
  ...generated,
  modelId: opt(str),
  modelReduce: opt(bool),
  reasonText: opt(str),
  index: opt(num),
});
const mindLeaf = z.looseObject({ name: opt(str) });
const mindMid = z.looseObject({ name: opt(str), childNodes: arrayOf(mindLeaf) });
const mindRoot = z.looseObject({ name: opt(str), childNodes: arrayOf(mindMid) });
const roleInterval = z.looseObject({ startTime: opt(num), endTime: opt(num), timestamp: opt(num), url: opt(str) });
const role = z.looseObject({
  roleName: opt(str),
  roleInfo: opt(str),
  ratio: opt(num),
  isAutoRecognition: opt(bool),
  timeIntervals: arrayOf(roleInterval),
});
const calculatorItem = z.looseObject({
  name: opt(str),
  type: opt(str),
  inputToken: opt(num),
  outputToken: opt(num),
  time: opt(num),
  inputExpense: opt(num),
  outputExpense: opt(num),
  timeExpense: opt(num),
  totalExpense: opt(num),
});

/** The ten sub-results of `payload.output`; which appear depends on the submitted generateOptions. */
export const outputSchema = z.looseObject({
  videoAnalysisResult: opt(z.looseObject({ ...generated, videoShotAnalysisResults: arrayOf(shot) })),
  videoCaptionResult: opt(z.looseObject({ generateFinished: opt(bool), videoCaptions: arrayOf(caption) })),
  videoGenerateResult: opt(generateResult),
  videoGenerateResults: arrayOf(generateResult),
  videoMindMappingGenerateResult: opt(z.looseObject({ ...generated, videoMindMappings: arrayOf(mindRoot) })),
  videoTitleGenerateResult: opt(z.looseObject(generated)),
  resultJsonFileUrl: opt(str),
  videoRoleRecognitionResult: opt(z.looseObject({ videoRoles: arrayOf(role) })),
  videoCalculatorResult: opt(z.looseObject({ items: arrayOf(calculatorItem) })),
  addDatasetDocumentsResult: opt(
    z.looseObject({ status: opt(num), title: opt(str), docId: opt(str), docUuid: opt(str), errorMessage: opt(str) }),
  ),
});

export const taskDataSchema = z.looseObject({
  taskId: opt(str),
  taskStatus: opt(str),
  errorMessage: opt(str),
  taskRunInfo: opt(z.looseObject({ concurrentChargeEnable: opt(bool), responseTime: opt(num) })),
  header: opt(
    z.looseObject({
      errorCode: opt(str),
      errorMessage: opt(str),
      event: opt(str),
      eventInfo: opt(str),
      sessionId: opt(str),
      taskId: opt(str),
      traceId: opt(str),
    }),
  ),
  payload: opt(z.looseObject({ output: opt(outputSchema), usage: opt(usage) })),
});

export type TaskData = z.infer<typeof taskDataSchema>;
export type TaskOutput = z.infer<typeof outputSchema>;

/**
 * The typed, coerced reading of a task's `data`. The relay itself decides on the status alone, so
 * this is for describing events (event-schemas.ts) and for callers who want typed fields; it lives
 * apart from ParsedTask so that the FC bundles carry no schema library.
 */
export function viewOf(task: ParsedTask): TaskData {
  return taskDataSchema.parse(task.raw);
}
