/**
 * Once per run, for the real-cluster project: says in one line why test/cluster is skipped when no
 * cluster is given, fails when one is required (DEVLOOP_TEST_REQUIRE_SERVICES=1, CI) or given but
 * not answering.
 */
import * as k8s from '@kubernetes/client-node';

export default async function setup(): Promise<void> {
  const file = process.env.DEVLOOP_TEST_KUBECONFIG;
  if (!file) {
    if (process.env.DEVLOOP_TEST_REQUIRE_SERVICES === '1') throw new Error('DEVLOOP_TEST_REQUIRE_SERVICES=1 but DEVLOOP_TEST_KUBECONFIG is unset: test/cluster needs a real cluster');
    process.stdout.write('test/cluster: skipped (set DEVLOOP_TEST_KUBECONFIG to the kubeconfig of a disposable cluster to run it)\n');
    return;
  }
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(file);
  const version = kc.makeApiClient(k8s.VersionApi);
  try {
    await Promise.race([version.getCode(), new Promise((_, reject) => setTimeout(() => reject(new Error('no answer within 10s')), 10_000))]);
  } catch (error) {
    throw new Error(`DEVLOOP_TEST_KUBECONFIG=${file}: the cluster ${kc.getCurrentCluster()?.server ?? ''} does not answer (${(error as Error).message})`);
  }
}
