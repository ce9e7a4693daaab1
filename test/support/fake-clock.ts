/** Tests call the manual clock a fake clock: it moves only when told to. */
export { ManualClock as FakeClock } from "../../dev/manual-clock.js";
