/**
 * Realistic `data` objects for GetVideoAnalysisTask, a pure function of the task. They include
 * what the documentation's sample lacks (multi-task results, role recognition, the cost
 * calculator, dataset documents, imageTokens, speakers) and, on some tasks, numbers sent as
 * strings, the way the live API's loosely typed fields sometimes arrive.
 */
import { between, pick, seededRandom } from "../seeded-random.js";
import { runningOutput } from "./progress.js";
import type { SimStatus, SimTask } from "./workspace.js";

type Json = Record<string, unknown>;

const LINES = [
  "镜头从城市天际线缓缓推进，晨光洒在高楼的玻璃幕墙上。",
  "主持人在演播室介绍今天的节目内容。",
  "A chef plates a dish of noodles while explaining the recipe.",
  "两位主角在雨中的街道上重逢，背景音乐渐强。",
  "The camera pans across a crowded night market full of food stalls.",
];

function listOption(request: Readonly<Record<string, string>>, name: string): string[] | undefined {
  const value = request[name];
  if (value === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(value);
    return Array.isArray(parsed) ? parsed.map(String) : undefined;
  } catch {
    return undefined;
  }
}

export function taskData(task: SimTask, status: SimStatus, nowMs: number): Json {
  const random = seededRandom(task.taskId);
  // Some tasks carry numbers as strings, as loosely typed fields of the live API do.
  const stringy = random() < 0.3;
  const n = (value: number): number | string => (stringy ? String(value) : value);
  const header: Json = {
    errorCode: "success",
    errorMessage: "",
    event: status === "PENDING" || status === "RUNNING" ? "task-progress" : "task-finished",
    eventInfo: "",
    sessionId: `sess-${task.taskId.slice(0, 12)}`,
    taskId: task.taskId,
    traceId: `trace${task.taskId.slice(0, 20)}`,
  };
  const base: Json = { taskId: task.taskId, taskStatus: status, header };
  if (status === "PENDING") return base;

  const usage = (scale: number, withImages = false): Json => {
    const input = between(random, 100, 2000) * scale;
    const output = between(random, 50, 800) * scale;
    const u: Json = { inputTokens: n(input), outputTokens: n(output), totalTokens: n(input + output) };
    if (withImages) u.imageTokens = n(between(random, 500, 5000));
    return u;
  };
  const durationMs = between(random, 30, 600) * 1000;
  const shots = Array.from({ length: between(random, 2, 5) }, (_, i) => ({
    startTime: n(i * 10_000),
    endTime: n(i * 10_000 + 9_500),
    text: pick(random, LINES),
  }));
  const captions = Array.from({ length: between(random, 2, 4) }, (_, i) => ({
    startTime: n(i * 4000),
    endTime: n(i * 4000 + 3500),
    startTimeFormat: `00:${String(i * 4).padStart(2, "0")}`,
    endTimeFormat: `00:${String(i * 4 + 3).padStart(2, "0")}`,
    text: pick(random, LINES),
    speaker: `spk${i % 2}`,
  }));

  if (status === "RUNNING") {
    // What would be the result, each part shown finished from its own point of the run on.
    const final = (taskData(task, "SUCCESSED", nowMs).payload as Json).output as Json;
    return { ...base, payload: { output: runningOutput(task, final, nowMs) } };
  }

  const runInfo = { concurrentChargeEnable: random() < 0.5, responseTime: n(task.runMs) };
  if (status === "FAILED") {
    const reason = pick(random, [
      { code: "ViolationOfSecurityPolicy", message: "The content violates the security policy." },
      { code: "VideoDownloadFailed", message: "Failed to download the video from videoUrl." },
      { code: "VideoDurationExceeded", message: "The video is longer than 60 minutes." },
    ]);
    return {
      ...base,
      errorMessage: reason.message,
      header: { ...header, errorCode: reason.code, errorMessage: reason.message },
      taskRunInfo: runInfo,
    };
  }
  if (status === "CANCELED") {
    return { ...base, errorMessage: "The task was canceled.", header: { ...header, errorCode: "TaskCanceled" } };
  }

  const options = listOption(task.request, "generateOptions");
  const all = options === undefined;
  const wants = (o: string) => all || options.includes(o);
  const multiTask = task.request.textProcessTasks !== undefined || all;
  const output: Json = {};
  output.videoAnalysisResult = {
    generateFinished: true,
    text: LINES.slice(0, 3).join(""),
    usage: usage(1, true),
    videoShotAnalysisResults: shots,
  };
  if (!listOption(task.request, "excludeGenerateOptions")?.includes("videoCaption")) {
    output.videoCaptionResult = { generateFinished: true, videoCaptions: captions };
  }
  if (wants("videoGenerate") || wants("videoTitleGenerate") || wants("videoMindMappingGenerate")) {
    const modelId = task.request.modelId ?? "quanmiao-llm-plus";
    output.videoGenerateResult = {
      generateFinished: true,
      text: `剧情梗概：${pick(random, LINES)}`,
      usage: usage(2),
      modelId,
      modelReduce: false,
      reasonText: "",
      index: 1,
    };
    if (multiTask) {
      output.videoGenerateResults = [1, 2].map((index) => ({
        generateFinished: true,
        index,
        modelId,
        text: `任务${index}：${pick(random, LINES)}`,
        reasonText: "",
        usage: usage(1),
      }));
    }
  }
  if (wants("videoTitleGenerate")) {
    output.videoTitleGenerateResult = { generateFinished: true, text: "城市清晨的故事", usage: usage(1) };
  }
  if (wants("videoMindMappingGenerate")) {
    output.videoMindMappingGenerateResult = {
      generateFinished: true,
      text: "视频结构",
      usage: usage(1),
      videoMindMappings: [{ name: "主题", childNodes: [{ name: "场景", childNodes: [{ name: "人物" }] }] }],
    };
  }
  if (wants("videoRoleRecognition")) {
    output.videoRoleRecognitionResult = {
      videoRoles: [
        {
          roleName: "主持人",
          roleInfo: "节目主持人",
          ratio: n(Math.round(random() * 100) / 100),
          isAutoRecognition: true,
          timeIntervals: [
            { startTime: n(0), endTime: n(9_500), timestamp: n(4_000), url: "https://example.com/f/1.jpg" },
          ],
        },
      ],
    };
  }
  output.videoCalculatorResult = {
    items: [
      {
        name: "视频理解",
        type: "vl",
        inputToken: n(12_000),
        outputToken: n(800),
        time: n(durationMs / 1000),
        inputExpense: 0.024,
        outputExpense: 0.0032,
        timeExpense: 0,
        totalExpense: 0.0272,
      },
    ],
  };
  if (task.request.addDocumentParam !== undefined || all) {
    output.addDatasetDocumentsResult = {
      status: n(1),
      title: "城市清晨的故事",
      docId: `doc-${task.taskId.slice(0, 8)}`,
      docUuid: task.taskId,
      errorMessage: "",
    };
  }
  // Signed like an OSS URL; derived from the end time so a finished task's answer never changes.
  const endedAtMs = task.endsAtMs ?? nowMs;
  output.resultJsonFileUrl = `https://quanmiao-results.example.com/${task.workspaceId}/${task.taskId}.json?Expires=${Math.floor(endedAtMs / 1000) + 86_400}`;

  return {
    ...base,
    // The live API sets a message even on success (see the documentation's sample).
    errorMessage: "",
    taskRunInfo: runInfo,
    payload: { output, usage: usage(3) },
  };
}
