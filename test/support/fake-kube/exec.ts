/**
 * GET or POST /api/v1/namespaces/{ns}/pods/{name}/exec?container=&command=…&stdin=&stdout=&stderr=&tty=
 * as a WebSocket upgrade, answered the way the API server's WebSocket exec does (remotecommand over
 * channel.k8s.io), as @kubernetes/client-node 1.4's Exec speaks it:
 *  - subprotocols: the first the client offers that the server supports (client-node offers v5 first).
 *    Servers from 1.30 support v5.channel.k8s.io (the `version` option), older ones only
 *    v4/v3/v2/channel.k8s.io. With v5 a [255, 0] frame half-closes stdin; v4 has no channel 255 and
 *    ignores such frames (as wsstream drops frames for an unknown channel), so stdin only ends when
 *    the socket closes: the command then reads EOF and runs on, but its status is lost (measured on
 *    a real 1.26: the command completes, nothing is delivered).
 *  - frames start with their channel byte: 0 stdin (client → server), 1 stdout, 2 stderr, 3 status.
 *  - channel 3 carries one metav1.Status JSON at the end: {"metadata":{},"status":"Success"}, or a
 *    Failure with reason NonZeroExitCode and details.causes [{reason:"ExitCode", message:"<code>"}],
 *    or, when the command cannot start, reason InternalError with the runtime's
 *    `executable file not found in $PATH` message. Then the socket closes normally.
 *  - no close frames are sent for stdout/stderr: client-node would end process.stdout on them.
 * Commands run through `ctx.runtime.exec` when the runtime has it (real containers); otherwise a small
 * emulation against the runtime's root folder for the container: `tar -x [-C dir] -f -`, `rm [-f|-r]`,
 * `mkdir [-p]`, `cat`, `head -c N`, `true`, and `sh -c SCRIPT [NAME ARG…]` for a SCRIPT that is one
 * pipeline of those (words, "$@", "$N"). Container paths map below the root folder; escapes are refused.
 */
import type { IncomingMessage } from 'node:http';
import { chmod, mkdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname, posix, resolve, sep } from 'node:path';
import { PassThrough, Writable, type Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import type { ServerVersion, SubresourceContext } from './context.js';

const V5 = 'v5.channel.k8s.io';
const OLDER = ['v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'];
const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const STATUS = 3;
const CLOSE = 255;

/** The exec subprotocols a server of this version accepts (v5 from 1.30). */
export function execProtocols(version: ServerVersion): string[] {
  return version.major > 1 || version.minor >= 30 ? [V5, ...OLDER] : OLDER;
}

// One upgrade handler per protocol set; the client's order decides among the supported ones, as wsstream does.
const servers = new Map<string, WebSocketServer>();
function serverFor(supported: string[]): WebSocketServer {
  const key = supported.join(',');
  let server = servers.get(key);
  if (!server) {
    server = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      handleProtocols: (protocols) => [...protocols].find((p) => supported.includes(p)) ?? false,
    });
    servers.set(key, server);
  }
  return server;
}

export function handleExec(ctx: SubresourceContext, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  const command = ctx.query.getAll('command');
  if (command.length === 0) {
    ctx.rejectUpgrade(socket, ctx.statuses.badRequest('you must specify at least 1 command'));
    return;
  }
  const picked = ctx.resolveContainer(ctx.query.get('container'));
  if ('status' in picked) {
    ctx.rejectUpgrade(socket, picked.status);
    return;
  }
  const container = picked.container;
  if (!ctx.containerRunning(container)) {
    ctx.rejectUpgrade(socket, ctx.statuses.badRequest(`container ${container} is not valid for pod ${ctx.name}`));
    return;
  }
  serverFor(execProtocols(ctx.version)).handleUpgrade(req, socket, head, (ws) => void serve(ctx, ws, container, command));
}

async function serve(ctx: SubresourceContext, ws: WebSocket, container: string, command: string[]): Promise<void> {
  const flag = (name: string): boolean => ctx.query.get(name) === 'true' || ctx.query.get(name) === '1';
  const send = (channel: number, payload: Buffer | string): void => {
    const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
    if (ws.readyState !== ws.OPEN || data.length === 0) return;
    ws.send(Buffer.concat([Buffer.from([channel]), data]));
  };
  const stdin = new PassThrough();
  if (!flag('stdin')) stdin.end();
  ws.on('message', (data: RawData) => {
    const frame = Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer);
    if (frame.length === 0) return;
    if (frame[0] === STDIN && !stdin.writableEnded) stdin.write(frame.subarray(1));
    // Only v5 has channel 255 (half-close); older protocols drop frames for unknown channels.
    else if (frame[0] === CLOSE && frame[1] === STDIN && ws.protocol === V5) stdin.end();
  });
  // A closed socket ends stdin: the command reads EOF and runs on; its status has nowhere to go.
  ws.on('close', () => {
    if (!stdin.writableEnded) stdin.end();
  });
  const channelWriter = (channel: number): Writable =>
    new Writable({
      write(chunk: Buffer, _enc, done) {
        send(channel, chunk);
        done();
      },
    });
  const stdout = flag('stdout') ? channelWriter(STDOUT) : undefined;
  const stderr = flag('stderr') ? channelWriter(STDERR) : undefined;

  let status: Record<string, unknown>;
  try {
    const { exitCode } = ctx.runtime.exec
      ? await ctx.runtime.exec(ctx.podKey, container, command, { stdin, stdout, stderr, tty: flag('tty') })
      : await emulate(ctx, container, command, { stdin, out: (chunk) => stdout?.write(chunk), err: (text) => stderr?.write(text) });
    status = exitCode === 0 ? { metadata: {}, status: 'Success' } : nonZero(command, exitCode);
  } catch (error) {
    status = cannotStart(error instanceof Error ? error.message : String(error));
  }
  send(STATUS, JSON.stringify(status));
  ws.close(1000);
}

function nonZero(command: string[], exitCode: number): Record<string, unknown> {
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${exitCode}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] },
  };
}

function cannotStart(message: string): Record<string, unknown> {
  return { metadata: {}, status: 'Failure', message, reason: 'InternalError', details: { causes: [{ message }] }, code: 500 };
}

/** What containerd says when the binary is missing; kubelet wraps it into the Status message. */
export function notFoundMessage(binary: string): string {
  return `Internal error occurred: error executing command in container: failed to exec in container: failed to start exec: OCI runtime exec failed: exec failed: unable to start container process: exec: "${binary}": executable file not found in $PATH: unknown`;
}

// ---- emulation for runtimes without real containers ----

interface EmulatedIO {
  stdin: NodeJS.ReadableStream;
  out: (chunk: Buffer | string) => void;
  err: (text: string) => void;
}

const EMULATED = ['sh', 'head', 'tar', 'rm', 'mkdir', 'cat', 'true'];

async function emulate(ctx: SubresourceContext, container: string, command: string[], io: EmulatedIO): Promise<{ exitCode: number }> {
  const root = ctx.runtime.rootDir(ctx.podKey, container);
  const has = (binary: string): boolean =>
    EMULATED.includes(binary) &&
    (binary === 'tar' ? ctx.runtime.hasTar(ctx.podKey, container) : (ctx.runtime.hasBinary?.(ctx.podKey, container, binary) ?? true));
  if (!root || !has(command[0]!)) throw new Error(notFoundMessage(command[0]!));
  return { exitCode: await run(root, command, io, has) };
}

/** One emulated program; `sh -c` runs a pipeline of them. */
async function run(root: string, command: string[], io: EmulatedIO, has: (binary: string) => boolean): Promise<number> {
  const [binary, ...args] = command;
  const host = (path: string, cwd = '/'): string => {
    const inContainer = posix.resolve(cwd, path);
    const mapped = resolve(root, '.' + inContainer);
    if (mapped !== root && !mapped.startsWith(root + sep)) throw new ExecFailure(`${binary}: ${path}: path escapes the container`);
    return mapped;
  };
  try {
    switch (binary) {
      case 'true':
        return 0;
      case 'cat':
        for (const file of args) io.out(await readFile(host(file)));
        return 0;
      case 'head': {
        if (args[0] !== '-c' || !/^\d+$/.test(args[1] ?? '') || args.length !== 2) throw new ExecFailure('head: only `head -c N` is emulated');
        io.out(await readUpTo(io.stdin, Number(args[1])));
        return 0;
      }
      case 'mkdir':
        for (const dir of args.filter((a) => !a.startsWith('-'))) await mkdir(host(dir), { recursive: args.includes('-p') });
        return 0;
      case 'rm': {
        const options = args.filter((a) => a.startsWith('-') && a !== '--').join('');
        const force = options.includes('f');
        const recursive = options.includes('r') || options.includes('R');
        for (const path of args.filter((a) => !a.startsWith('-'))) {
          if (posix.resolve('/', path) === '/') throw new ExecFailure("rm: can't remove '/'");
          await rm(host(path), { force, recursive });
        }
        return 0;
      }
      case 'tar':
        return (await emulateTar(args, io.stdin, host)).exitCode;
      case 'sh':
        return await shell(args, io, (argv, stage) => run(root, argv, stage, has), has);
    }
  } catch (error) {
    io.err(`${error instanceof ExecFailure ? error.message : `${binary}: ${(error as Error).message}`}\n`);
    return 1;
  }
  return 127;
}

class ExecFailure extends Error {}

/**
 * `sh -c SCRIPT [NAME [ARG…]]` for a SCRIPT that is one pipeline of simple commands whose words are
 * plain, "$@" or "$N". Stages run concurrently; the status is the last stage's; a missing program
 * prints busybox's `NAME: line 0: prog: not found` and exits 127 (its pipe then ends).
 */
async function shell(
  args: string[],
  io: EmulatedIO,
  runStage: (argv: string[], io: EmulatedIO) => Promise<number>,
  has: (binary: string) => boolean,
): Promise<number> {
  if (args[0] !== '-c' || args[1] === undefined) throw new ExecFailure('sh: only `sh -c SCRIPT [NAME ARG…]` is emulated');
  const positional = args.slice(2);
  const name = positional[0] ?? 'sh';
  const stages: string[][] = [[]];
  for (const token of args[1].trim().split(/\s+/)) {
    if (token === '|') stages.push([]);
    else if (token === '"$@"') stages.at(-1)!.push(...positional.slice(1));
    else if (/^"?\$\d"?$/.test(token)) stages.at(-1)!.push(positional[Number(token.replace(/\D/g, ''))] ?? '');
    else if (/^[\w./=-]+$/.test(token)) stages.at(-1)!.push(token);
    else throw new ExecFailure(`sh: only one pipeline of simple commands is emulated, not "${token}"`);
  }
  if (stages.some((stage) => stage.length === 0)) throw new ExecFailure('sh: syntax error: empty pipeline stage');
  const pipes = stages.slice(1).map(() => new PassThrough());
  const codes = await Promise.all(
    stages.map(async (argv, i) => {
      const stage: EmulatedIO = {
        stdin: i === 0 ? io.stdin : pipes[i - 1]!,
        out: i === stages.length - 1 ? io.out : (chunk) => void pipes[i]!.write(chunk),
        err: io.err,
      };
      let code: number;
      if (!has(argv[0]!)) {
        io.err(`${name}: line 0: ${argv[0]}: not found\n`);
        code = 127;
      } else code = await runStage(argv, stage);
      pipes[i]?.end();
      return code;
    }),
  );
  return codes.at(-1)!;
}

/** Reads at most `limit` bytes and leaves the rest of the stream unread (as `head -c` does). */
function readUpTo(stream: NodeJS.ReadableStream, limit: number): Promise<Buffer> {
  return new Promise((resolveRead, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = (): void => {
      stream.off('data', onData);
      stream.off('end', stop);
      stream.off('error', reject);
      stream.pause();
      resolveRead(Buffer.concat(chunks).subarray(0, limit));
    };
    const onData = (chunk: Buffer | string): void => {
      const buffer = Buffer.from(chunk);
      chunks.push(buffer);
      size += buffer.length;
      if (size >= limit) stop();
    };
    if (limit === 0) return resolveRead(Buffer.alloc(0));
    stream.on('data', onData);
    stream.once('end', stop);
    stream.once('error', reject);
  });
}

async function emulateTar(args: string[], stdin: NodeJS.ReadableStream, host: (path: string, cwd?: string) => string): Promise<{ exitCode: number }> {
  let extract = false;
  let file: string | undefined;
  let dir = '/';
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '-C') dir = args[++i] ?? '/';
    else if (arg === '-f') file = args[++i];
    else if (/^-?[xvfmopC]+$/.test(arg)) {
      if (arg.includes('x')) extract = true;
      if (arg.includes('f')) file = args[++i];
    } else throw new ExecFailure(`tar: unsupported argument ${arg}`);
  }
  if (!extract || file !== '-') throw new ExecFailure('tar: only `tar -x -C DIR -f -` is emulated');
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(Buffer.from(chunk as Buffer));
  const base = host(dir);
  try {
    await stat(base);
  } catch {
    throw new ExecFailure(`tar: can't change directory to '${dir}': No such file or directory`);
  }
  for (const entry of readTar(Buffer.concat(chunks))) {
    const target = host(entry.name, dir);
    if (entry.type === 'directory') await mkdir(target, { recursive: true });
    else if (entry.type === 'symlink') {
      await mkdir(dirname(target), { recursive: true });
      await rm(target, { force: true });
      await symlink(entry.linkname, target);
    } else if (entry.type === 'file') {
      await mkdir(dirname(target), { recursive: true });
      await rm(target, { force: true }); // replace, never write through a symlink
      await writeFile(target, entry.data);
      await chmod(target, entry.mode & 0o7777);
    }
  }
  return { exitCode: 0 };
}

interface ReadEntry {
  name: string;
  type: 'file' | 'directory' | 'symlink' | 'other';
  mode: number;
  linkname: string;
  data: Buffer;
}

/** A minimal ustar reader (PAX `path`/`linkpath` records and GNU long names included). */
export function readTar(buffer: Buffer): ReadEntry[] {
  const entries: ReadEntry[] = [];
  let offset = 0;
  let longName: string | undefined;
  let longLink: string | undefined;
  const text = (start: number, length: number): string => {
    const raw = buffer.subarray(start, start + length);
    const end = raw.indexOf(0);
    return raw.subarray(0, end < 0 ? raw.length : end).toString('utf8');
  };
  while (offset + 512 <= buffer.length) {
    const start = offset;
    const header = buffer.subarray(start, start + 512);
    if (header.every((b) => b === 0)) break;
    const size = parseInt(text(start + 124, 12).trim() || '0', 8);
    const typeflag = String.fromCharCode(header[156]!);
    const data = buffer.subarray(start + 512, start + 512 + size);
    offset += 512 + Math.ceil(size / 512) * 512;
    if (typeflag === 'x') {
      for (const record of parsePax(data)) {
        if (record.key === 'path') longName = record.value;
        if (record.key === 'linkpath') longLink = record.value;
      }
      continue;
    }
    if (typeflag === 'L') {
      longName = data.toString('utf8').replace(/\0+$/, '');
      continue;
    }
    if (typeflag === 'g') continue;
    const prefix = text(start + 345, 155);
    const short = text(start, 100);
    const name = longName ?? (prefix ? `${prefix}/${short}` : short);
    const linkname = longLink ?? text(start + 157, 100);
    longName = undefined;
    longLink = undefined;
    const mode = parseInt(text(start + 100, 8).trim() || '644', 8);
    const type = typeflag === '5' ? 'directory' : typeflag === '2' ? 'symlink' : typeflag === '0' || typeflag === '\0' ? 'file' : 'other';
    entries.push({ name: name.replace(/\/$/, ''), type, mode, linkname, data: Buffer.from(data) });
  }
  return entries;
}

function parsePax(data: Buffer): { key: string; value: string }[] {
  const records: { key: string; value: string }[] = [];
  let offset = 0;
  while (offset < data.length) {
    const space = data.indexOf(0x20, offset);
    if (space < 0) break;
    const length = parseInt(data.subarray(offset, space).toString('utf8'), 10);
    if (!length) break;
    const record = data.subarray(space + 1, offset + length - 1).toString('utf8');
    const eq = record.indexOf('=');
    records.push({ key: record.slice(0, eq), value: record.slice(eq + 1) });
    offset += length;
  }
  return records;
}
