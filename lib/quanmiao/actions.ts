/** The Quanmiao actions this project calls: one table, shared by the client and the simulator. */
import { encodePath } from "./sign.js";

export const API_VERSION = "2024-08-01";
export const DEFAULT_ENDPOINT = "https://quanmiaolightapp.cn-beijing.aliyuncs.com";

export const ACTIONS = {
  GetVideoAnalysisTask: { method: "GET", operation: "getVideoAnalysisTask" },
  GetVideoAnalysisConfig: { method: "GET", operation: "getVideoAnalysisConfig" },
  SubmitVideoAnalysisTask: { method: "POST", operation: "submitVideoAnalysisTask" },
} as const;

export type ActionName = keyof typeof ACTIONS;

const PREFIX = ["quanmiao", "lightapp", "videoAnalysis"] as const;

/** `/{workspaceId}/quanmiao/lightapp/videoAnalysis/{operation}`, every segment percent-encoded. */
export function actionPath(action: ActionName, workspaceId: string): string {
  return encodePath([workspaceId, ...PREFIX, ACTIONS[action].operation]);
}

/** The reverse, for the simulator: which action and workspace a received path names. */
export function matchActionPath(rawPathname: string): { action: ActionName; workspaceId: string } | undefined {
  const segments = rawPathname.split("/");
  if (segments.length !== 6 || segments[0] !== "") return undefined;
  const [, ws = "", a = "", b = "", c = "", op = ""] = segments;
  if (a !== PREFIX[0] || b !== PREFIX[1] || c !== PREFIX[2]) return undefined;
  const action = (Object.keys(ACTIONS) as ActionName[]).find((name) => ACTIONS[name].operation === op);
  if (!action) return undefined;
  try {
    return { action, workspaceId: decodeURIComponent(ws) };
  } catch {
    return undefined;
  }
}
