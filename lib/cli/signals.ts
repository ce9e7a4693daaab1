/**
 * How a command that runs until Ctrl-C is stopped. The first SIGINT or SIGTERM asks it to stop
 * cleanly (it closes what it opened); a second one, while that clean stop is still under way (a
 * delivery waiting on a slow endpoint, say), ends the process at once with the shell's code for the
 * signal (130 for SIGINT, 143 for SIGTERM), so Ctrl-C always stops it.
 */

const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;

export function untilSignal(options: { onFirst?: () => void } = {}): Promise<void> {
  return new Promise((resolve) => {
    let asked = false;
    const stop = (signal: keyof typeof SIGNAL_EXIT) => {
      if (asked) {
        process.stderr.write("stopping at once.\n");
        process.exit(SIGNAL_EXIT[signal]);
      }
      asked = true;
      options.onFirst?.();
      resolve();
    };
    // The listeners stay for the second signal; Node's signal handles never keep the process alive.
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}
