/**
 * OCI distribution client over node:http (http.ts): ping, manifests, blobs (HEAD, mount, monolithic and
 * chunked upload), with anonymous, Basic and Bearer-token auth. One client per repository.
 * Secrets (passwords, tokens) never leave this module except in Authorization headers.
 */
import { DevloopError, type ErrorCode } from '../errors.js';
import type { RegistrySettings } from '../build/types.js';
import { sha256Digest, type BlobSource } from './blob-source.js';
import { parseChallenge, type AuthChallenge } from './challenge.js';
import { lookupCredential, type CredentialLookup } from './credentials.js';
import { MANIFEST_ACCEPT } from './media-types.js';
import { parseImageReference, registryBaseUrl } from './reference.js';
import { HttpNetworkError, send, type HttpResponse } from './http.js';

export interface RegistryClientOptions {
  /** Environment for DOCKER_CONFIG / HOME lookups (tests pass their own). */
  env?: NodeJS.ProcessEnv;
  /** Per request, except blob data (default 30 s). */
  requestTimeoutMs?: number;
  /** Per blob data request: PUT or one PATCH chunk (default 5 min). */
  uploadTimeoutMs?: number;
  /** Extra attempts after a 5xx, timeout or connection failure (default 3), with doubling backoff. */
  retries?: number;
  /** First backoff delay (default 250 ms). */
  retryDelayMs?: number;
  /** Blobs larger than this go up as PATCH chunks of this size (default 8 MiB). */
  chunkSize?: number;
  signal?: AbortSignal;
}

export interface FetchedManifest {
  bytes: Buffer;
  mediaType: string;
  digest: string;
}

export type BlobPushResult = 'exists' | 'mounted' | 'uploaded';

export interface PushBlobOptions {
  /** Repository (path only, same registry) that already holds the blob: try a cross-repo mount first. */
  mountFrom?: string;
  /** Called with bytes sent so far. */
  onProgress?: (sent: number) => void;
}

const DEFAULTS = {
  requestTimeoutMs: 30_000,
  uploadTimeoutMs: 300_000,
  retries: 3,
  retryDelayMs: 250,
  chunkSize: 8 * 1024 * 1024,
};

/** Codes worth another attempt: the registry or the connection failed, not the request. */
const RETRYABLE = new Set<ErrorCode>(['REGISTRY_SERVER_ERROR', 'REGISTRY_UNREACHABLE', 'REGISTRY_TIMEOUT']);

interface RequestInit {
  method: string;
  headers?: Record<string, string>;
  body?: Uint8Array;
  timeoutMs?: number;
  /** What the request is for, in error messages ("blob sha256:ab12…"). */
  what: string;
}

export class RegistryClient {
  readonly registry: string;
  readonly repository: string;
  private readonly baseUrl: string;
  private readonly options: typeof DEFAULTS & { env: NodeJS.ProcessEnv; signal?: AbortSignal };
  private readonly pullScopes = new Set<string>();
  private authorization: string | undefined;
  /** Scheme of the last challenge answered: a 401 despite a fresh token means "no permission". */
  private lastScheme: AuthChallenge['scheme'] | undefined;
  private credentials: Promise<CredentialLookup> | undefined;

  private constructor(registry: string, repository: string, settings: RegistrySettings, options: RegistryClientOptions) {
    this.registry = registry;
    this.repository = repository;
    this.baseUrl = registryBaseUrl(registry, settings.insecureRegistries);
    this.options = {
      requestTimeoutMs: options.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs,
      uploadTimeoutMs: options.uploadTimeoutMs ?? DEFAULTS.uploadTimeoutMs,
      retries: options.retries ?? DEFAULTS.retries,
      retryDelayMs: options.retryDelayMs ?? DEFAULTS.retryDelayMs,
      chunkSize: options.chunkSize ?? DEFAULTS.chunkSize,
      env: options.env ?? process.env,
      signal: options.signal,
    };
  }

  /** `repo` is `host[:port]/path` (a tag or digest, if present, is ignored). */
  static forRepository(repo: string, settings: RegistrySettings, options: RegistryClientOptions = {}): RegistryClient {
    const parsed = parseImageReference(repo);
    return new RegistryClient(parsed.registry, parsed.repository, settings, options);
  }

  /** "127.0.0.1:5000/hello" */
  get name(): string {
    return `${this.registry}/${this.repository}`;
  }

  /** Also ask for pull access to `repository` (a mount source) when requesting tokens. */
  addPullScope(repository: string): void {
    if (repository !== this.repository) this.pullScopes.add(repository);
  }

  /** Checks that the registry answers the distribution API and that our credentials are accepted. */
  async ping(): Promise<void> {
    const response = await this.withRetries('ping', () => this.request('/v2/', { method: 'GET', what: 'API root /v2/' }));
    await response.body?.cancel();
    if (response.status !== 200) throw this.unexpected(response, 'API root /v2/');
  }

  /** Digest of the manifest `reference` (tag or digest) points at, or undefined when it does not exist. */
  async manifestDigest(reference: string): Promise<string | undefined> {
    const what = `manifest ${this.name}:${reference}`;
    const response = await this.withRetries(what, () =>
      this.request(`/v2/${this.repository}/manifests/${reference}`, { method: 'HEAD', headers: { accept: MANIFEST_ACCEPT }, what }),
    );
    if (response.status === 404) return undefined;
    if (response.status !== 200) throw this.unexpected(response, what);
    const digest = response.headers.get('docker-content-digest');
    if (digest) return digest;
    // Some registries omit the header on HEAD: hash the body instead.
    return (await this.getManifest(reference)).digest;
  }

  /** Fetches a manifest or index; 404 is a REGISTRY_MANIFEST_UNKNOWN error naming the image. */
  async getManifest(reference: string): Promise<FetchedManifest> {
    const what = `manifest ${this.name}${reference.startsWith('sha256:') ? '@' : ':'}${reference}`;
    return this.withRetries(what, async () => {
      const response = await this.request(`/v2/${this.repository}/manifests/${reference}`, {
        method: 'GET',
        headers: { accept: MANIFEST_ACCEPT },
        what,
      });
      if (response.status === 404) {
        await response.body?.cancel();
        throw new DevloopError('REGISTRY_MANIFEST_UNKNOWN', `image ${what.slice('manifest '.length)} not found`, {
          hint: 'check the image name and tag, and that it was pushed to this registry',
        });
      }
      if (response.status !== 200) throw this.unexpected(response, what);
      const bytes = Buffer.from(await response.arrayBuffer());
      const digest = sha256Digest(bytes);
      const expected = reference.startsWith('sha256:') ? reference : response.headers.get('docker-content-digest');
      if (expected && expected !== digest) throw digestMismatch(this.registry, what, expected, digest);
      const mediaType = (response.headers.get('content-type') ?? '').split(';')[0]!.trim() || mediaTypeOf(bytes);
      return { bytes, mediaType, digest };
    });
  }

  /** Downloads a (small) blob such as an image config, verifying its digest. */
  async getBlob(digest: string): Promise<Buffer> {
    const what = `blob ${this.name}@${digest}`;
    return this.withRetries(what, async () => {
      const response = await this.request(`/v2/${this.repository}/blobs/${digest}`, { method: 'GET', what });
      if (response.status === 404) {
        await response.body?.cancel();
        throw new DevloopError('REGISTRY_BLOB_UNKNOWN', `${what} not found`);
      }
      if (response.status !== 200) throw this.unexpected(response, what);
      const bytes = Buffer.from(await response.arrayBuffer());
      const actual = sha256Digest(bytes);
      if (actual !== digest) throw digestMismatch(this.registry, what, digest, actual);
      return bytes;
    });
  }

  async hasBlob(digest: string): Promise<boolean> {
    return this.withRetries(`blob ${this.name}@${digest}`, () => this.headBlob(digest));
  }

  private async headBlob(digest: string): Promise<boolean> {
    const what = `blob ${this.name}@${digest}`;
    const response = await this.request(`/v2/${this.repository}/blobs/${digest}`, { method: 'HEAD', what });
    if (response.status === 200) return true;
    if (response.status === 404) return false;
    throw this.unexpected(response, what);
  }

  /**
   * Makes `blob` present in this repository: nothing if the registry has it, a cross-repo mount if
   * `mountFrom` has it, else an upload (monolithic, or PATCH chunks above `chunkSize`). The whole
   * blob is retried after a 5xx or a dropped connection, a bounded number of times.
   */
  async pushBlob(blob: BlobSource, options: PushBlobOptions = {}): Promise<BlobPushResult> {
    if (options.mountFrom) this.addPullScope(options.mountFrom);
    const what = `blob ${shortDigest(blob.digest)} to ${this.name}`;
    return this.withRetries(what, async () => {
      if (await this.headBlob(blob.digest)) return 'exists';
      let location: string;
      if (options.mountFrom && options.mountFrom !== this.repository) {
        const query = `?mount=${encodeURIComponent(blob.digest)}&from=${encodeURIComponent(options.mountFrom)}`;
        const response = await this.request(`/v2/${this.repository}/blobs/uploads/${query}`, { method: 'POST', what });
        await response.body?.cancel();
        if (response.status === 201) {
          this.checkDigestHeader(response, blob.digest, what);
          return 'mounted';
        }
        if (response.status !== 202) throw this.unexpected(response, what);
        location = this.uploadLocation(response, what); // not mountable: the registry opened an upload instead
      } else {
        location = await this.startUpload(what);
      }
      await this.upload(location, blob, what, options.onProgress);
      return 'uploaded';
    });
  }

  /** PUTs the exact `bytes` as manifest `reference` and checks the registry computed the same digest. */
  async putManifest(reference: string, bytes: Uint8Array, mediaType: string): Promise<string> {
    const digest = sha256Digest(bytes);
    const what = `manifest ${this.name}:${reference}`;
    return this.withRetries(what, async () => {
      const response = await this.request(`/v2/${this.repository}/manifests/${reference}`, {
        method: 'PUT',
        headers: { 'content-type': mediaType },
        body: bytes,
        what,
      });
      await response.body?.cancel();
      if (response.status !== 201 && response.status !== 200) throw this.unexpected(response, what);
      this.checkDigestHeader(response, digest, what);
      return digest;
    });
  }

  // --- upload steps ---

  private async startUpload(what: string): Promise<string> {
    const response = await this.request(`/v2/${this.repository}/blobs/uploads/`, { method: 'POST', what });
    await response.body?.cancel();
    if (response.status !== 202) throw this.unexpected(response, what);
    return this.uploadLocation(response, what);
  }

  private async upload(location: string, blob: BlobSource, what: string, onProgress?: (sent: number) => void): Promise<void> {
    const chunk = this.options.chunkSize;
    if (blob.size > chunk) {
      for (let start = 0; start < blob.size; start += chunk) {
        const end = Math.min(blob.size, start + chunk);
        const response = await this.request(location, {
          method: 'PATCH',
          headers: { 'content-type': 'application/octet-stream', 'content-range': `${start}-${end - 1}` },
          body: await blob.read(start, end),
          timeoutMs: this.options.uploadTimeoutMs,
          what,
        });
        await response.body?.cancel();
        if (response.status !== 202) throw this.unexpected(response, what);
        location = this.uploadLocation(response, what);
        onProgress?.(end);
      }
      await this.finishUpload(location, blob.digest, new Uint8Array(0), what);
    } else {
      await this.finishUpload(location, blob.digest, await blob.read(0, blob.size), what);
      onProgress?.(blob.size);
    }
  }

  private async finishUpload(location: string, digest: string, body: Uint8Array, what: string): Promise<void> {
    const url = new URL(location);
    url.searchParams.set('digest', digest);
    const response = await this.request(url.toString(), {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body,
      timeoutMs: this.options.uploadTimeoutMs,
      what,
    });
    await response.body?.cancel();
    if (response.status !== 201) throw this.unexpected(response, what);
    this.checkDigestHeader(response, digest, what);
  }

  private uploadLocation(response: HttpResponse, what: string): string {
    const location = response.headers.get('location');
    if (!location) throw new DevloopError('REGISTRY_PROTOCOL', `registry ${this.registry} sent no upload Location for ${what}`);
    return new URL(location, this.baseUrl).toString();
  }

  private checkDigestHeader(response: HttpResponse, expected: string, what: string): void {
    const reported = response.headers.get('docker-content-digest');
    if (reported && reported !== expected) throw digestMismatch(this.registry, what, expected, reported);
  }

  // --- transport ---

  /** One HTTP exchange, authenticating and repeating it once when the registry answers 401. */
  private async request(pathOrUrl: string, init: RequestInit): Promise<HttpResponse> {
    const url = pathOrUrl.startsWith('/') ? `${this.baseUrl}${pathOrUrl}` : pathOrUrl;
    let response = await this.send(url, init, this.authorization);
    if (response.status === 401) {
      await response.body?.cancel();
      await this.authenticate(response, init.what);
      response = await this.send(url, init, this.authorization);
      if (response.status === 401) {
        await response.body?.cancel();
        throw await this.authRefused(401, init.what);
      }
    }
    if (response.status === 403) {
      await response.body?.cancel();
      throw await this.authRefused(403, init.what);
    }
    if (response.status >= 500) {
      const detail = await errorDetail(response);
      throw new DevloopError('REGISTRY_SERVER_ERROR', `registry ${this.registry} failed (${response.status}) on ${init.what}${detail}`, {
        hint: 'the registry had an internal error; try again, or look at its logs',
      });
    }
    return response;
  }

  private async send(url: string, init: RequestInit, authorization: string | undefined): Promise<HttpResponse> {
    const headers: Record<string, string> = { ...init.headers };
    if (authorization) headers.authorization = authorization;
    const timeoutMs = init.timeoutMs ?? this.options.requestTimeoutMs;
    const signals = [AbortSignal.timeout(timeoutMs)];
    if (this.options.signal) signals.push(this.options.signal);
    try {
      return await send(url, { method: init.method, headers, body: init.body, signal: AbortSignal.any(signals) });
    } catch (error) {
      if (this.options.signal?.aborted) throw this.options.signal.reason ?? error;
      if (error instanceof DOMException && error.name === 'TimeoutError') {
        throw new DevloopError('REGISTRY_TIMEOUT', `registry ${this.registry} did not answer within ${timeoutMs / 1000}s on ${init.what}`, {
          hint: 'check that the registry is up and reachable',
        });
      }
      const reason = error instanceof HttpNetworkError ? error : undefined;
      throw new DevloopError('REGISTRY_UNREACHABLE', `cannot reach registry ${this.registry} (${reason?.code ?? reason?.message ?? 'network error'}) on ${init.what}`, {
        hint: `check that ${this.baseUrl}/v2/ is up; plain HTTP is used only for loopback hosts and build.insecureRegistries`,
        cause: error,
      });
    }
  }

  private lookup(): Promise<CredentialLookup> {
    this.credentials ??= lookupCredential(this.registry, this.options.env);
    return this.credentials;
  }

  /** Answers a 401 challenge: Basic with the stored credential, or a Bearer token from the realm. */
  private async authenticate(response: HttpResponse, what: string): Promise<void> {
    const challenge = parseChallenge(response.headers.get('www-authenticate'));
    if (!challenge) throw await this.authRefused(401, what);
    const { credential } = await this.lookup();
    this.lastScheme = challenge.scheme;
    if (challenge.scheme === 'basic') {
      if (!credential?.username || credential.password === undefined) throw await this.authRefused(401, what);
      this.authorization = `Basic ${Buffer.from(`${credential.username}:${credential.password}`).toString('base64')}`;
      return;
    }
    this.authorization = `Bearer ${await this.fetchToken(challenge, what)}`;
  }

  /** The token flow of the distribution spec: GET realm with Basic auth, or POST an OAuth2 refresh token. */
  private async fetchToken(challenge: AuthChallenge, what: string): Promise<string> {
    const { credential } = await this.lookup();
    const realm = challenge.params.realm;
    if (!realm) throw new DevloopError('REGISTRY_AUTH', `registry ${this.registry} sent a Bearer challenge without a realm`);
    const scopes = [`repository:${this.repository}:pull,push`, ...[...this.pullScopes].map((r) => `repository:${r}:pull`)];
    const url = new URL(realm);
    const params = new URLSearchParams();
    if (challenge.params.service) params.set('service', challenge.params.service);
    for (const scope of scopes) params.append('scope', scope);
    const init: RequestInit & { headers: Record<string, string> } = { method: 'GET', headers: {}, what: `token for ${what}` };
    if (credential?.identityToken) {
      params.set('grant_type', 'refresh_token');
      params.set('refresh_token', credential.identityToken);
      params.set('client_id', 'devloop');
      init.method = 'POST';
      init.headers['content-type'] = 'application/x-www-form-urlencoded';
      init.body = Buffer.from(params.toString());
    } else {
      for (const [key, value] of params) url.searchParams.append(key, value);
      if (credential?.username && credential.password !== undefined) {
        init.headers.authorization = `Basic ${Buffer.from(`${credential.username}:${credential.password}`).toString('base64')}`;
      }
    }
    const response = await this.send(url.toString(), init, init.headers.authorization);
    if (response.status === 401 || response.status === 403) {
      await response.body?.cancel();
      throw await this.authRefused(response.status, what, `token server ${url.host}`);
    }
    if (response.status !== 200) throw this.unexpected(response, `token for ${what} from ${url.host}`);
    const body = (await response.json().catch(() => ({}))) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new DevloopError('REGISTRY_AUTH', `token server ${url.host} for registry ${this.registry} returned no token`);
    return token;
  }

  /** An auth error naming the registry and where the credential came from — never the secret. */
  private async authRefused(status: number, what: string, by = `registry ${this.registry}`): Promise<DevloopError> {
    const { credential, searched } = await this.lookup();
    const denied = status === 403 || (this.lastScheme === 'bearer' && by.startsWith('registry'));
    const verb = denied ? 'denied access' : 'refused the credentials';
    if (!credential) {
      return new DevloopError('REGISTRY_AUTH', `${by} requires authentication for ${what}; no credentials found (looked in ${searched})`, {
        hint: `run \`docker login ${this.registry}\` (or set DOCKER_CONFIG to a folder whose config.json has credentials for it)`,
      });
    }
    return new DevloopError('REGISTRY_AUTH', `${by} ${verb} (${status}) for ${what} using credentials from ${credential.source}`, {
      hint: denied
        ? `the account has no push/pull permission on ${this.name}`
        : `check the username and password for ${this.registry} (docker login ${this.registry})`,
    });
  }

  private unexpected(response: HttpResponse, what: string): DevloopError {
    void response.body?.cancel().catch(() => undefined);
    return new DevloopError('REGISTRY_PROTOCOL', `registry ${this.registry} answered ${response.status} ${response.statusText} on ${what}`, {
      hint: 'the registry may not support this part of the OCI distribution API',
    });
  }

  private async withRetries<T>(what: string, attempt: () => Promise<T>): Promise<T> {
    for (let n = 0; ; n++) {
      try {
        return await attempt();
      } catch (error) {
        if (!(error instanceof DevloopError) || !RETRYABLE.has(error.code) || n >= this.options.retries) throw error;
        await delay(this.options.retryDelayMs * 2 ** n, this.options.signal);
      }
    }
  }
}

function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason);
    }, { once: true });
  });
}

function shortDigest(digest: string): string {
  return digest.slice(0, 'sha256:'.length + 12);
}

function digestMismatch(registry: string, what: string, expected: string, actual: string): DevloopError {
  return new DevloopError('REGISTRY_DIGEST_MISMATCH', `registry ${registry}: digest mismatch for ${what} (expected ${shortDigest(expected)}, got ${shortDigest(actual)})`, {
    hint: 'the content was altered in transit or by the registry; it was not accepted',
  });
}

/** The first error message of a distribution error body, if any (`{errors:[{code,message}]}`). */
async function errorDetail(response: HttpResponse): Promise<string> {
  try {
    const body = (await response.json()) as { errors?: { code?: string; message?: string }[] };
    const first = body.errors?.[0];
    return first ? `: ${first.code ?? ''} ${first.message ?? ''}`.trimEnd() : '';
  } catch {
    return '';
  }
}

function mediaTypeOf(bytes: Buffer): string {
  try {
    return String((JSON.parse(bytes.toString('utf8')) as { mediaType?: string }).mediaType ?? '');
  } catch {
    return '';
  }
}
