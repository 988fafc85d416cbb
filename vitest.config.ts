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
          include: ['{api,apiserver,client,lib,scheduler,controllers,kubelet,kube-proxy,cli}/**/*.test.ts'],
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
