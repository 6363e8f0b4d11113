import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['./test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Docker and registry tests share one daemon: keep files from stampeding it on a 2-core machine.
    maxWorkers: 2,
    reporters: ['default', './test/support/summary-reporter.ts'],
    projects: [
      { extends: true, test: { name: 'main', include: ['test/**/*.test.ts'], exclude: ['test/cluster/**'] } },
      // The real-cluster suite (test/cluster/, DEVLOOP_TEST_KUBECONFIG): its files run one at a time after
      // the rest (vitest runs a project without file parallelism as a last, sequential group), so the
      // cluster's own CPU (kubelet, containerd, builds) never competes with the fast suite, nor with itself.
      {
        extends: true,
        test: {
          name: 'cluster',
          include: ['test/cluster/**/*.test.ts'],
          globalSetup: ['./test/cluster/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 180_000,
        },
      },
    ],
  },
});
