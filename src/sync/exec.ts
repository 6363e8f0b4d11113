/**
 * One command in a container through the API server's exec subresource (client-node `Exec`),
 * bounded in time, with its exit code read from the status channel.
 *
 * Input (stdin) depends on the exec protocol the server negotiated:
 *  - `v5.channel.k8s.io` (servers from 1.30): the input is sent, then stdin is half-closed; the
 *    command runs as given.
 *  - `v4.channel.k8s.io` and older: stdin cannot be half-closed (client-node closes the whole socket
 *    when stdin ends, and the status is lost), so stdin is never ended and the command reads a
 *    bounded input instead: `sh -c 'head -c <bytes> | "$@"' sh <command…>` (needs `sh` and `head`).
 * The protocol is read from the socket once it is open (`ws.protocol`) and remembered per API
 * server; nothing is sent before it is known, so a guess that turns out wrong costs one empty
 * exec that is closed and redone in the right form. Commands without input send no stdin at all.
 */
import { PassThrough, Writable } from 'node:stream';
import { DevloopError, firstLine } from '../errors.js';
import type { KubeClient } from '../kube/client.js';

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** The status message when the command failed or could not start. */
  message?: string;
  /** True when the command could not run because a program it needs is missing. */
  notFound: boolean;
  /** That program (the command itself, or `sh`/`head` for input on a v4 server). */
  missing?: string;
}

export interface ExecTarget {
  namespace: string;
  pod: string;
  container: string;
}

interface V1StatusLike {
  status?: string;
  message?: string;
  reason?: string;
  details?: { causes?: { reason?: string; message?: string }[] };
}

interface ExecOptions {
  stdin?: Buffer;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Each complete output line as it arrives (hooks stream their output); stdout/stderr are still collected. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
}

/** The only protocol whose stdin can be half-closed. */
const HALF_CLOSE_PROTOCOL = 'v5.channel.k8s.io';

/** Negotiated protocol per API server URL (the guess before the first exec: v5). */
const negotiated = new Map<string, string>();

export async function execInContainer(kube: KubeClient, target: ExecTarget, command: string[], options: ExecOptions = {}): Promise<ExecResult> {
  const server = kube.server;
  if (!options.stdin) {
    const outcome = await connect(kube, target, command, options, undefined, server);
    return outcome as ExecResult; // no input: never renegotiated
  }
  for (let attempt = 0; ; attempt++) {
    const halfClose = (negotiated.get(server) ?? HALF_CLOSE_PROTOCOL) === HALF_CLOSE_PROTOCOL;
    const argv = halfClose ? command : boundedInput(command, options.stdin.length);
    const outcome = await connect(kube, target, argv, options, { data: options.stdin, halfClose }, server);
    if ('renegotiate' in outcome) {
      if (attempt === 0) continue;
      throw new DevloopError('SYNC_FAILED', `exec ${command[0]} in ${target.pod}: the server switched exec protocols twice`, {
        hint: 'the cluster\'s nodes answer exec with different protocols (a version skew?); the next change retries',
      });
    }
    return halfClose ? outcome : blameWrapper(outcome, command[0]!);
  }
}

/** The v4 form: the command reads exactly `bytes` bytes, then sees EOF although stdin stays open. */
function boundedInput(command: string[], bytes: number): string[] {
  return ['sh', '-c', `head -c ${bytes} | "$@"`, 'sh', ...command];
}

/** Which program a failure of the v4 wrapper is about: `sh` itself, `head`, or the command. */
function blameWrapper(result: ExecResult, binary: string): ExecResult {
  if (result.notFound) return { ...result, missing: 'sh' };
  // The pipeline's status is the command's, reading empty input: stderr is the only witness of `head`.
  if (saysNotFound(result.stderr, 'head')) return { ...result, notFound: true, missing: 'head' };
  return missingInShell(result, binary);
}

/** The result of a shell command whose `program` the shell did not find (exit 127, said on stderr) is a missing program. */
export function missingInShell(result: ExecResult, program: string): ExecResult {
  if (result.notFound) return result;
  return result.exitCode === 127 && saysNotFound(result.stderr, program) ? { ...result, notFound: true, missing: program } : result;
}

/** "sh: head: not found" (ash), "sh: 1: head: not found" (dash), "…: head: command not found" (bash). */
function saysNotFound(stderr: string, program: string): boolean {
  return new RegExp(`(^|[\\s:])${escape(program)}: (command )?not found`, 'm').test(stderr);
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

type Outcome = ExecResult | { renegotiate: true };

/** One WebSocket exec. With input, the input is written only once the negotiated protocol matches its form. */
function connect(
  kube: KubeClient,
  target: ExecTarget,
  command: string[],
  options: ExecOptions,
  input: { data: Buffer; halfClose: boolean } | undefined,
  server: string,
): Promise<Outcome> {
  const exec = new kube.lib.Exec(kube.kc);
  let stdout = '';
  let stderr = '';
  const collect = (append: (s: string) => void): Writable =>
    new Writable({
      write(chunk: Buffer, _enc, done) {
        append(chunk.toString('utf8'));
        done();
      },
    });
  const lines = (stream: 'stdout' | 'stderr'): ((s: string) => void) => {
    let partial = '';
    return (s) => {
      const parts = (partial + s).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) options.onLine?.(line, stream);
    };
  };
  const outLines = lines('stdout');
  const errLines = lines('stderr');
  const out = collect((s) => ((stdout += s), outLines(s)));
  const err = collect((s) => ((stderr += s), errLines(s)));
  // No stdin stream at all without input: client-node closes the socket when a stdin stream ends,
  // which on v4 loses the status (and an empty stream ends at once).
  const stdin = input ? new PassThrough() : null;

  return new Promise<Outcome>((resolve, reject) => {
    let done = false;
    let socket: { close(): void } | undefined;
    const finish = (result: Outcome | Error): void => {
      if (done) return;
      done = true;
      socket?.close();
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    const failure = (detail: string, hint: string, cause?: unknown): DevloopError =>
      new DevloopError('SYNC_FAILED', `exec ${command[0]} in ${target.pod}: ${detail}`, { hint, cause });
    const timeoutMs = options.timeoutMs ?? 30_000;
    const timer = setTimeout(
      () => finish(failure(`no answer within ${timeoutMs / 1000}s`, 'the container or the API server is stuck; the next change retries')),
      timeoutMs,
    );
    const onAbort = (): void => finish(options.signal?.reason instanceof Error ? options.signal.reason : new DevloopError('INTERRUPTED', 'interrupted'));
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });

    const onStatus = (status: V1StatusLike): void => {
      if (status.status === 'Success') return finish({ exitCode: 0, stdout, stderr, notFound: false });
      const code = status.details?.causes?.find((c) => c.reason === 'ExitCode')?.message;
      const message = status.message ?? 'exec failed';
      const notFound = status.reason !== 'NonZeroExitCode' && /executable file not found|no such file or directory|not found/i.test(message);
      finish({
        exitCode: code !== undefined ? Number(code) : 126,
        stdout,
        stderr,
        message,
        notFound,
        ...(notFound ? { missing: command[0] } : {}),
      });
    };
    exec
      .exec(target.namespace, target.pod, target.container, command, out, err, stdin, false, onStatus)
      .then((ws) => {
        socket = ws;
        if (done) return ws.close();
        // Without a status (a server closing early) the socket close ends the wait.
        ws.addEventListener('close', () =>
          setTimeout(() => finish(failure('connection closed without a status', 'the API server or kubelet ended the exec stream early; the next change retries')), 50),
        );
        negotiated.set(server, ws.protocol);
        if (!input || !stdin) return;
        // The command was shaped for a protocol: if the server picked the other kind, nothing was sent yet.
        if ((ws.protocol === HALF_CLOSE_PROTOCOL) !== input.halfClose) return finish({ renegotiate: true });
        stdin.write(input.data);
        if (input.halfClose) stdin.end();
      })
      .catch((error: unknown) =>
        // client-node rejects with the socket's ErrorEvent (a `message`, not an Error) when the upgrade fails.
        finish(failure(firstLine((error as { message?: string }).message ?? String(error)), 'check that the pod still runs and that your user may create pods/exec', error)),
      );
  });
}
