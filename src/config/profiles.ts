/** Which profiles are active: pure, given the command, env, explicit -p names and the kube context. */
import type { ProfileActivation, ProfileConfig } from './types.js';

export interface ActivationInput {
  command: string;
  env: NodeJS.ProcessEnv;
  /** Only called when some profile activates on kubeContext (resolving it may read the kubeconfig). */
  kubeContext: () => Promise<string>;
}

function usesKubeContext(profiles: readonly ProfileConfig[]): boolean {
  return profiles.some((profile) => profile.activation.some((activation) => activation.kubeContext !== undefined));
}

/** Every key of one activation entry must match; an entry with no keys never matches. */
function activationMatches(activation: ProfileActivation, input: { command: string; env: NodeJS.ProcessEnv; kubeContext: string }): boolean {
  const checks: boolean[] = [];
  if (activation.env !== undefined) checks.push(envMatches(activation.env, input.env));
  if (activation.command !== undefined) checks.push(activation.command.split('|').some((c) => c.trim() === input.command));
  if (activation.kubeContext !== undefined) checks.push(new RegExp(`^(?:${activation.kubeContext})$`).test(input.kubeContext));
  return checks.length > 0 && checks.every(Boolean);
}

function envMatches(spec: string, env: NodeJS.ProcessEnv): boolean {
  const eq = spec.indexOf('=');
  if (eq < 0) return Boolean(env[spec]);
  return env[spec.slice(0, eq)] === spec.slice(eq + 1);
}

/**
 * Profiles named with -p plus those whose activation matches, in file order (so the result does not
 * depend on how -p was spelled). Unknown -p names are returned for the caller to report.
 */
export async function selectProfiles(
  profiles: readonly ProfileConfig[],
  explicit: readonly string[],
  input: ActivationInput,
): Promise<{ active: ProfileConfig[]; unknown: string[] }> {
  const known = new Set(profiles.map((p) => p.name));
  const unknown = explicit.filter((name) => !known.has(name));
  const kubeContext = usesKubeContext(profiles) ? await input.kubeContext() : '';
  const active = profiles.filter(
    (profile) =>
      explicit.includes(profile.name) ||
      profile.activation.some((activation) => activationMatches(activation, { command: input.command, env: input.env, kubeContext })),
  );
  return { active, unknown };
}
