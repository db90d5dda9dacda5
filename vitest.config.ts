import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Builds dist/ when it may be stale: the CLI tests spawn dist/cli/main.js (test/global-setup.ts).
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration files each use their own Redis prefix, sshd ports and temp dirs, so files may run in parallel;
    // the machine has 2 cores, so keep the pool small.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
