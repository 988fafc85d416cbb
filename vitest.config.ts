import { defineConfig } from 'vitest/config';

// Two projects: fast unit tests beside the code, and suites under test/ that
// start real etcd, API servers, Docker containers and kubectl. The latter run
// one file at a time because they share the machine's Docker engine and iptables.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          // Every folder's tests but test/'s: a new component folder needs no entry here.
          include: ['**/*.test.ts'],
          exclude: ['test/**', 'node_modules/**', 'dist/**'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          setupFiles: ['test/util/setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
