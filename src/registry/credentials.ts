import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DevloopError } from '../errors.js';
import { isDockerHub } from './reference.js';

/**
 * Credentials for one registry. `source` says where they came from (a file and key, or a helper
 * program) so auth errors can name it; it never contains the secret.
 */
export interface RegistryCredential {
  username?: string;
  password?: string;
  /** OAuth2 refresh token (`identitytoken` in config.json, or a helper answering Username "<token>"). */
  identityToken?: string;
  source: string;
}

/** What was searched when no credential was found, for the "auth refused" hint. */
export interface CredentialLookup {
  credential?: RegistryCredential;
  searched: string;
}

interface DockerConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string } | undefined>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

const HELPER_TIMEOUT_MS = 15_000;

export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.DOCKER_CONFIG || join(homedir(), '.docker'), 'config.json');
}

/**
 * Looks up credentials for `registry` (host[:port]) the way the docker CLI does:
 * `credHelpers[host]`, then an `auths` entry with content, then `credsStore`.
 */
export async function lookupCredential(registry: string, env: NodeJS.ProcessEnv = process.env): Promise<CredentialLookup> {
  const file = dockerConfigPath(env);
  let config: DockerConfigFile;
  try {
    config = JSON.parse(await readFile(file, 'utf8')) as DockerConfigFile;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { searched: `${file} (absent)` };
    throw new DevloopError('DOCKER_CONFIG', `cannot read docker credentials file ${file}`, {
      hint: 'fix or remove the file (it must be JSON like the one `docker login` writes)',
      cause: error,
    });
  }
  const keys = configKeys(registry);

  const helper = keys.map((k) => config.credHelpers?.[k]).find(Boolean);
  if (helper) {
    const credential = await fromHelper(helper, registry, `credHelpers in ${file}`, env);
    return { credential, searched: `docker-credential-${helper} (credHelpers in ${file})` };
  }

  for (const [key, entry] of Object.entries(config.auths ?? {})) {
    if (!entry || !keys.includes(normaliseKey(key))) continue;
    const source = `auths["${key}"] in ${file}`;
    if (entry.identitytoken) return { credential: { identityToken: entry.identitytoken, username: entry.username, source }, searched: source };
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) {
        throw new DevloopError('DOCKER_CONFIG', `${source}: "auth" is not base64 of user:password`, {
          hint: `run docker login ${registry} again`,
        });
      }
      return { credential: { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), source }, searched: source };
    }
    if (entry.username && entry.password) return { credential: { username: entry.username, password: entry.password, source }, searched: source };
  }

  if (config.credsStore) {
    const credential = await fromHelper(config.credsStore, registry, `credsStore in ${file}`, env, true);
    return { credential, searched: `docker-credential-${config.credsStore} (credsStore in ${file})` };
  }
  return { searched: `${file} (no entry for ${registry})` };
}

/** The keys docker may have written for a registry: the host, and Docker Hub's legacy URL. */
function configKeys(registry: string): string[] {
  if (isDockerHub(registry)) {
    return ['index.docker.io', 'docker.io', 'registry-1.docker.io'];
  }
  return [registry];
}

/** "https://host:5000/v1/" → "host:5000". */
function normaliseKey(key: string): string {
  return key.replace(/^[a-z]+:\/\//, '').replace(/\/.*$/, '');
}

/** Runs `docker-credential-<name> get` with the server URL on stdin (the credential helper protocol). */
async function fromHelper(name: string, registry: string, origin: string, env: NodeJS.ProcessEnv, optional = false): Promise<RegistryCredential | undefined> {
  const program = `docker-credential-${name}`;
  const source = `${program} (${origin})`;
  const serverUrl = configKeys(registry)[0] === 'index.docker.io' ? 'https://index.docker.io/v1/' : registry;
  // Loaded lazily: most pushes need no credential helper.
  const { runStreaming } = await import('../util/process.js');
  const result = await runStreaming({ file: program, args: ['get'], input: serverUrl, timeoutMs: HELPER_TIMEOUT_MS, env });
  if (result.spawnErrorCode === 'ENOENT') {
    if (optional) return undefined;
    throw new DevloopError('CREDENTIAL_HELPER', `credential helper ${program} for ${registry} is not installed`, {
      hint: `install ${program} or remove it from ${origin}`,
    });
  }
  if (result.timedOut) {
    throw new DevloopError('CREDENTIAL_HELPER', `credential helper ${program} did not answer for ${registry} within ${HELPER_TIMEOUT_MS / 1000}s`);
  }
  if (result.exitCode !== 0) {
    // The protocol's "not found" answer: no credentials for this server, which is not an error.
    if (/not found/i.test([...result.stdout, ...result.stderr].join('\n'))) return undefined;
    throw new DevloopError('CREDENTIAL_HELPER', `credential helper ${program} failed for ${registry} (exit ${result.exitCode})`, {
      hint: `run \`echo ${serverUrl} | ${program} get\` to see why`,
    });
  }
  let answer: { Username?: string; Secret?: string };
  try {
    answer = JSON.parse(result.stdout.join('\n')) as { Username?: string; Secret?: string };
  } catch {
    throw new DevloopError('CREDENTIAL_HELPER', `credential helper ${program} printed something that is not JSON for ${registry}`);
  }
  if (!answer.Secret) return undefined;
  if (answer.Username === '<token>') return { identityToken: answer.Secret, source };
  return { username: answer.Username, password: answer.Secret, source };
}
