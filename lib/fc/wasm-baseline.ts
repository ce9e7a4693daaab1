/**
 * Keeps WebAssembly on V8's baseline compiler (Liftoff) in the FC functions. undici parses HTTP with
 * llhttp compiled to WebAssembly, and once that parser is hot V8 recompiles it with its optimising
 * compiler: for llhttp's one very large function that takes 25–40 MiB for a fraction of a second,
 * a third of a lingering poll run's peak memory and alone the reason it would need the next FC size
 * up (the linger-cost benchmark measures the peak). Baseline code parses the relay's small
 * responses fast enough, and skipping the recompile also saves its CPU in short-lived runs.
 *
 * V8 reads its flags when it compiles a module, so this must run before the first connection: the
 * functions call it as they load (undici compiles llhttp at its first connection, not at import).
 * Only the FC entry points do this, and so the test processes that import them; the CLI leaves V8
 * as it is.
 */
import { setFlagsFromString } from "node:v8";

export function keepWasmOnBaselineTier(): void {
  setFlagsFromString("--liftoff-only");
}
