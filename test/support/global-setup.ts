/**
 * Starts one docker-registry for the whole test run when none is given (CI gives one through
 * DEVLOOP_TEST_REGISTRY), so workers share it and nothing outlives the run: the teardown stops it.
 */
import { startRegistry, registryBinaryAvailable } from './services.js';

export default async function setup(): Promise<(() => Promise<void>) | void> {
  if (process.env.DEVLOOP_TEST_REGISTRY || !registryBinaryAvailable()) return;
  const registry = await startRegistry();
  process.env.DEVLOOP_TEST_REGISTRY = registry.host;
  return async () => {
    await registry.stop();
    delete process.env.DEVLOOP_TEST_REGISTRY;
  };
}
