/** Reading Docker CLI output: the pushed digest and what kind of failure a tail of lines shows. Pure. */

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
