/** Time comes in through deps so tests can run schedules on a fake clock. Epoch milliseconds. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
