/**
 * One command in a container through the API server's exec subresource (client-node `Exec`),
 * bounded in time, with its exit code read from the status channel.
 */
import { PassThrough, Readable, Writable } from 'node:stream';
import type { KubeClient } from '../kube/client.js';

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** The status message when the command failed or could not start. */
  message?: string;
  /** True when the command could not start because its binary is missing. */
  notFound: boolean;
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

export async function execInContainer(
  kube: KubeClient,
  target: ExecTarget,
  command: string[],
  options: { stdin?: Buffer; timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<ExecResult> {
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
  const out = collect((s) => (stdout += s));
  const err = collect((s) => (stderr += s));
  const stdin = options.stdin ? Readable.from([options.stdin]) : new PassThrough();
  if (!options.stdin) (stdin as PassThrough).end();

  return new Promise<ExecResult>((resolve, reject) => {
    let done = false;
    let socket: { close(): void } | undefined;
    const finish = (result: ExecResult | Error): void => {
      if (done) return;
      done = true;
      socket?.close();
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    const timer = setTimeout(() => finish(new Error(`exec ${command[0]} in ${target.pod} timed out`)), options.timeoutMs ?? 30_000);
    const onAbort = (): void => finish(new Error('interrupted'));
    options.signal?.addEventListener('abort', onAbort, { once: true });

    const onStatus = (status: V1StatusLike): void => {
      if (status.status === 'Success') return finish({ exitCode: 0, stdout, stderr, notFound: false });
      const code = status.details?.causes?.find((c) => c.reason === 'ExitCode')?.message;
      const message = status.message ?? 'exec failed';
      finish({
        exitCode: code !== undefined ? Number(code) : 126,
        stdout,
        stderr,
        message,
        notFound: status.reason !== 'NonZeroExitCode' && /executable file not found|no such file or directory|not found/i.test(message),
      });
    };
    exec
      .exec(target.namespace, target.pod, target.container, command, out, err, stdin, false, onStatus)
      .then((ws) => {
        socket = ws;
        if (done) ws.close();
        // Without a status (a server closing early) the socket close ends the wait.
        ws.addEventListener('close', () => setTimeout(() => finish(new Error(`exec ${command[0]} in ${target.pod}: connection closed without a status`)), 50));
      })
      .catch((error: unknown) => finish(error instanceof Error ? error : new Error(String(error))));
  });
}
