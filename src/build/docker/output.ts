/** Reading Docker CLI output: the pushed digest and what kind of failure a tail of lines shows. Pure. */
import { registryOf } from '../../registry/reference.js';

/** `latest: digest: sha256:… size: 528` → sha256:… */
export function parsePushDigest(lines: string[]): string | undefined {
  for (let i = lines.length - 1; i >= 0; i--) {
    const match = /digest: (sha256:[0-9a-f]{64})/.exec(lines[i]!);
    if (match) return match[1];
  }
  return undefined;
}

export type DockerFailure = 'daemon' | 'unreachable' | 'server' | 'auth' | 'https' | 'other';

export function classifyDockerFailure(tail: string[]): DockerFailure {
  const text = tail.join('\n');
  if (/Cannot connect to the Docker daemon|Is the docker daemon running|error during connect/i.test(text)) return 'daemon';
  if (/server gave HTTP response to HTTPS client/i.test(text)) return 'https';
  if (/unauthorized|authentication required|denied|forbidden/i.test(text)) return 'auth';
  if (/connection refused|no such host|i\/o timeout|dial tcp|connection reset|no route to host|EOF$/im.test(text)) return 'unreachable';
  if (/\b5\d\d\b.*(Internal Server Error|Bad Gateway|Service Unavailable|Gateway Timeout|status)|unexpected HTTP status: 5\d\d|received unexpected HTTP status: 5/i.test(text)) return 'server';
  return 'other';
}

/** Output lines without colour codes and blank lines (the classic builder ends with a bare reset code). */
export function meaningfulLines(tail: string[]): string[] {
  return tail.map((l) => l.replace(/\u001b\[[0-9;]*m/g, '').trim()).filter((l) => l !== '');
}

export type PullProblem = 'not-found' | 'denied' | 'unreachable' | 'https' | 'other';

/** `docker build` failed pulling an image the Dockerfile names (FROM, COPY --from): which, from where, why. */
export interface PullFailure {
  image: string;
  /** The host that failed: the one in the failing request (a registry, a token server), else the image's registry. */
  host: string;
  problem: PullProblem;
  /** For unreachable: "connection refused", "no such host", … */
  reason?: string;
  /** The error line docker printed. */
  detail: string;
}

const NETWORK_REASONS = /connection refused|no such host|i\/o timeout|connection reset by peer|no route to host|network is unreachable|TLS handshake timeout|Temporary failure in name resolution|Client\.Timeout exceeded/i;

/**
 * Reads a failed `docker build`'s last lines for a failed image pull, in the classic builder's
 * form (`Step 1/3 : FROM x` then the daemon's error) and BuildKit's (`failed to resolve source
 * metadata for x: …`, `> [internal] load metadata for x:`). Undefined when the build failed otherwise.
 */
export function parsePullFailure(tail: string[], buildArgs: Record<string, string> = {}): PullFailure | undefined {
  const lines = meaningfulLines(tail);
  const detail = lines.at(-1);
  if (!detail) return undefined;
  const written = pulledImage(lines, detail);
  if (!written) return undefined;
  const image = expandArgs(written, buildArgs);
  const url = /\bhttps?:\/\/([^/"\s?]+)/.exec(detail)?.[1];
  const lookup = /\blookup ([^\s:]+)(?: on |: )/.exec(detail)?.[1];
  const host = url ?? lookup ?? registryOf(image);
  const reason = NETWORK_REASONS.exec(detail)?.[0];
  let problem: PullProblem = 'other';
  if (/server gave HTTP response to HTTPS client/i.test(detail)) problem = 'https';
  else if (/pull access denied|insufficient_scope|unauthorized|authentication required|denied|forbidden/i.test(detail)) problem = 'denied';
  else if (/manifest unknown|: not found\b|manifest for \S+ not found|not found: manifest/i.test(detail)) problem = 'not-found';
  else if (reason || /dial tcp|\bEOF$/.test(detail)) problem = 'unreachable';
  return { image, host, problem, ...(problem === 'unreachable' ? { reason: reason ?? 'network error' } : {}), detail };
}

/** The classic builder echoes `FROM ${BASE}` as written: fill in the build args (and `${X:-default}`). */
function expandArgs(ref: string, args: Record<string, string>): string {
  return ref.replace(/\$\{(\w+)(?::-([^}]*))?\}|\$(\w+)/g, (whole, braced?: string, fallback?: string, bare?: string) => {
    const name = (braced ?? bare)!;
    return args[name] ?? fallback ?? whole;
  });
}

function pulledImage(lines: string[], detail: string): string | undefined {
  const strip = (ref: string) => ref.replace(/[:,]+$/, '');
  // BuildKit names the image in its final error, or in the summary of the failed step.
  const metadata = /failed to resolve source metadata for (\S+)/.exec(detail)?.[1];
  if (metadata) return strip(metadata);
  const summary = lines.map((l) => /^>\s*\[[^\]]*\]\s*load metadata for (\S+)$/.exec(l)?.[1]).filter(Boolean).at(-1);
  if (summary) return strip(summary);
  // The daemon's own pull errors (classic builder).
  const daemon = /manifest for (\S+) not found|pull access denied for ([^,\s]+)/.exec(detail);
  if (daemon) return strip(daemon[1] ?? daemon[2]!);
  // Classic builder: the build stopped at a FROM (or COPY --from) step, which only fails pulling.
  const step = lines.filter((l) => /^Step \d+\/\d+ : /.test(l)).at(-1);
  const from = step && /^Step \d+\/\d+ : (?:FROM\s+(?:--platform=\S+\s+)?(\S+)|COPY\s+.*--from=(\S+))/i.exec(step);
  const ref = from ? (from[1] ?? from[2])! : undefined;
  // `FROM scratch` and `--from=0` are never pulled; an error line must follow the step.
  if (ref && ref !== 'scratch' && !/^\d+$/.test(ref) && lines.indexOf(step!) < lines.length - 1) return strip(ref);
  return undefined;
}
