import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration files each use their own Redis prefix, sshd ports and temp dirs, so files may run in parallel;
    // the machine has 2 cores, so keep the pool small.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
