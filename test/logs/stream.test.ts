import { describe, expect, it } from 'vitest';
import type { Log } from '@kubernetes/client-node';
import type { Writable } from 'node:stream';
import { LogCursor } from '../../src/logs/cursor.js';
import { streamOnce } from '../../src/logs/stream.js';

/** A Log whose follow request answers with `body` and ends. */
function answering(body: string): Log {
  return {
    log: async (_ns: string, _pod: string, _container: string, sink: Writable) => {
      setImmediate(() => sink.end(body));
      return new AbortController();
    },
  } as unknown as Log;
}

const follow = (log: Log, lines: string[]) =>
  streamOnce(log, { namespace: 'n', pod: 'p', container: 'c', cursor: new LogCursor(), onLine: (l) => lines.push(l), signal: new AbortController().signal, openTimeoutMs: 5_000 });

describe('one log follow request', () => {
  it("the kubelet's 'unable to retrieve container logs' answer ends the log; it is no line of it", async () => {
    const lines: string[] = [];
    const end = await follow(answering('unable to retrieve container logs for containerd://44f6a1a77e56fad5cba9d20a571c1ca7538a946727d240dcf8cc0ba06ca7154a'), lines);
    expect(end).toMatchObject({ reason: 'eof', lines: 0 });
    expect(lines).toEqual([]);
  });

  it('lines with timestamps are handed on without them, the same text inside a line is kept', async () => {
    const lines: string[] = [];
    const end = await follow(answering('2026-11-27T15:40:02.000000001Z hello\n2026-11-27T15:40:02.000000002Z unable to retrieve container logs for x\n'), lines);
    expect(end).toMatchObject({ reason: 'eof', lines: 2 });
    expect(lines).toEqual(['hello', 'unable to retrieve container logs for x']);
  });
});
