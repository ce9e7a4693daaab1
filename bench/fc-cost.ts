/**
 * What a poll function costs in Function Compute 3.0's billed units, and the smallest size it may
 * be given. Pure arithmetic, so the economy and linger-cost scenarios share it and tests pin it.
 *
 * FC 3.0's rules, as docs/deploying.md cites them: memory is a multiple of 64 MB from 128 MB to
 * 32 GB; vCPU a multiple of 0.05 from 0.05 to 16, with vCPU : memory in GB between 1:1 and 1:4.
 * An instance is billed for its vCPU and memory for as long as it runs (vCPU-seconds and
 * GB-seconds, 1 GB = 1,024 MB), converted to compute units at 1 CU per active vCPU-second and
 * 0.15 CU per GB-second.
 */
import { existsSync, readFileSync } from "node:fs";
import { parse } from "yaml";
import { row, type ScenarioRow } from "./support.js";

export const FC_MEMORY_STEP_MB = 64;
export const FC_MEMORY_MIN_MB = 128;
export const FC_MEMORY_MAX_MB = 32_768;
export const FC_VCPU_STEP = 0.05;
export const FC_VCPU_MIN = 0.05;
export const FC_VCPU_MAX = 16;
/** Compute units per active vCPU-second and per GB-second of memory. */
export const CU_PER_VCPU_SECOND = 1;
export const CU_PER_GB_SECOND = 0.15;

export interface FcSize {
  readonly memoryMb: number;
  readonly vcpu: number;
}

/** `n` vCPU steps, kept free of binary fractions (0.1 + 0.2 style) so that 0.1 prints as 0.1. */
const vcpuOf = (steps: number) => Math.round(steps * FC_VCPU_STEP * 100) / 100;
const stepsAtLeast = (vcpu: number) => Math.ceil(Math.round((vcpu / FC_VCPU_STEP) * 1e6) / 1e6);

/**
 * The smallest FC size with memory of at least `headroom` × `peakRssMiB` and vCPU of at least
 * `headroom` × `cpuShare` (vCPU-seconds used per second of the run), within FC's vCPU:memory
 * ratio: the vCPU is the least the memory allows unless the measured CPU use asks for more, and
 * the memory grows when that vCPU needs it (1:1 at most).
 */
export function smallestFcSize(peakRssMiB: number, cpuShare = 0, headroom = 2): FcSize {
  const wantedMb = Math.max(FC_MEMORY_MIN_MB, peakRssMiB * headroom);
  let memoryMb = Math.ceil(wantedMb / FC_MEMORY_STEP_MB) * FC_MEMORY_STEP_MB;
  // At most 4 GB of memory per vCPU.
  let steps = Math.max(stepsAtLeast(FC_VCPU_MIN), stepsAtLeast(memoryMb / 1024 / 4), stepsAtLeast(cpuShare * headroom));
  // At least 1 GB per vCPU: more vCPU than the memory carries raises the memory.
  memoryMb = Math.max(memoryMb, Math.ceil((vcpuOf(steps) * 1024) / FC_MEMORY_STEP_MB) * FC_MEMORY_STEP_MB);
  steps = Math.max(steps, stepsAtLeast(memoryMb / 1024 / 4));
  if (memoryMb > FC_MEMORY_MAX_MB || vcpuOf(steps) > FC_VCPU_MAX) {
    throw new RangeError(`no FC size holds ${wantedMb.toFixed(0)} MB and ${vcpuOf(steps)} vCPU`);
  }
  return { memoryMb, vcpu: vcpuOf(steps) };
}

/** The poll function's size in s.yaml, which the measured size is checked against. */
export function deployedPollSize(): FcSize {
  // The project's root is one folder up from bench/, two from dist/bench/.
  const file = [new URL("../s.yaml", import.meta.url), new URL("../../s.yaml", import.meta.url)].find(existsSync);
  if (!file) throw new Error("no s.yaml above bench/");
  const doc = parse(readFileSync(file, "utf8")) as {
    resources: { poll: { props: { memorySize: number; cpu?: number } } };
  };
  const { memorySize, cpu } = doc.resources.poll.props;
  // Without `cpu` FC picks one, and what it bills cannot be worked out here.
  if (cpu === undefined) throw new Error("s.yaml gives the poll function no cpu");
  return { memoryMb: memorySize, vcpu: cpu };
}

/** Whether FC 3.0 accepts this size at all. */
export function isFcSize(size: FcSize): boolean {
  const gb = size.memoryMb / 1024;
  const steps = size.vcpu / FC_VCPU_STEP;
  return (
    Number.isInteger(size.memoryMb / FC_MEMORY_STEP_MB) &&
    size.memoryMb >= FC_MEMORY_MIN_MB &&
    size.memoryMb <= FC_MEMORY_MAX_MB &&
    Math.abs(steps - Math.round(steps)) < 1e-9 &&
    size.vcpu >= FC_VCPU_MIN &&
    size.vcpu <= FC_VCPU_MAX &&
    gb >= size.vcpu - 1e-9 &&
    gb <= size.vcpu * 4 + 1e-9
  );
}

/** What `runSeconds` of an instance of `size` is billed: vCPU-seconds, GB-seconds and compute units. */
export function billed(runSeconds: number, size: FcSize) {
  const vcpuSeconds = runSeconds * size.vcpu;
  const gbSeconds = (runSeconds * size.memoryMb) / 1024;
  return { vcpuSeconds, gbSeconds, cu: vcpuSeconds * CU_PER_VCPU_SECOND + gbSeconds * CU_PER_GB_SECOND };
}

export interface PollUsage {
  /** FC run-seconds of the lingering poll function per hour in which tasks run. */
  readonly runSecondsPerBusyHour: number;
  /** FC run-seconds per finished task, the relay's and the naive poller's (the economy scenario's). */
  readonly runSecondsPerTask?: { readonly relay: number; readonly naive: number };
}

/**
 * The poll function's bill as bench rows, each next to an always-on naive poller of the same size
 * (alive all 3,600 s of an hour with tasks running, and per finished task for as long as any task
 * is unfinished).
 */
export function fcCostRows(name: string, usage: PollUsage, size: FcSize): ScenarioRow[] {
  const at = `${size.memoryMb} MB, ${size.vcpu} vCPU`;
  const hour = billed(usage.runSecondsPerBusyHour, size);
  const alwaysOn = billed(3_600, size);
  const rows = [
    row(
      name,
      `vCPU-seconds per hour with tasks running (${at}; vs always-on poller)`,
      hour.vcpuSeconds,
      "vCPU-s",
      alwaysOn.vcpuSeconds,
    ),
    row(
      name,
      `GB-seconds per hour with tasks running (${at}; vs always-on poller)`,
      hour.gbSeconds,
      "GB-s",
      alwaysOn.gbSeconds,
    ),
    row(name, `compute units per hour with tasks running (${at}; vs always-on poller)`, hour.cu, "CU", alwaysOn.cu),
  ];
  if (usage.runSecondsPerTask) {
    const relay = billed(usage.runSecondsPerTask.relay, size);
    const naive = billed(usage.runSecondsPerTask.naive, size);
    rows.push(
      row(
        name,
        "FC run-seconds per finished task (vs naive poller)",
        usage.runSecondsPerTask.relay,
        "s",
        usage.runSecondsPerTask.naive,
      ),
      row(
        name,
        `vCPU-seconds per finished task (${at}; vs naive poller)`,
        relay.vcpuSeconds,
        "vCPU-s",
        naive.vcpuSeconds,
      ),
      row(name, `GB-seconds per finished task (${at}; vs naive poller)`, relay.gbSeconds, "GB-s", naive.gbSeconds),
    );
  }
  return rows;
}
