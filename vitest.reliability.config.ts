import { defineConfig } from "vitest/config";

/** `npm run test:reliability`: the seeded fault-schedule suite, kept out of `npm test`. */
export default defineConfig({
  test: {
    include: ["test/reliability/**/*.test.ts"],
    deps: { interopDefault: false },
    testTimeout: 300_000,
    hookTimeout: 60_000,
  },
});
