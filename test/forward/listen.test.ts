import { afterEach, describe, expect, it } from 'vitest';
import { EventEmitter } from 'node:events';
import { createServer, type Server } from 'node:net';
import { bindFirstFree } from '../../src/forward/listen.js';
import { DevloopError } from '../../src/errors.js';
import { freePort } from '../support/services.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});
function server(): Server {
  const s = createServer();
  servers.push(s);
  return s;
}

describe('local port choice', () => {
  it('binds the requested port when it is free', async () => {
    const port = await freePort();
    expect(await bindFirstFree(server(), '127.0.0.1', port, { owner: 'service/a' })).toBe(port);
  });

  it('moves to the next free port when the requested one is taken, skipping reserved ones', async () => {
    const taken = server();
    const port = await bindFirstFree(taken, '127.0.0.1', await freePort(), { owner: 'x' });
    const got = await bindFirstFree(server(), '127.0.0.1', port, { owner: 'service/a', reserved: new Set([port + 1]) });
    expect(got).toBeGreaterThan(port + 1);
  });

  it('rejects ports out of range', async () => {
    for (const bad of [0, -1, 65536, 80.5]) {
      const error = await bindFirstFree(server(), '127.0.0.1', bad, { owner: 'service/a' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DevloopError);
      expect((error as DevloopError).code).toBe('FORWARD_PORT_INVALID');
      expect((error as DevloopError).message).toContain('service/a');
    }
  });

  it('explains privileged ports without rights', async () => {
    // Tests may run as root, where binding port 81 works: stand in for the kernel's EACCES.
    const denied = Object.assign(new EventEmitter(), {
      listen(this: EventEmitter) {
        queueMicrotask(() => this.emit('error', Object.assign(new Error('listen EACCES: permission denied'), { code: 'EACCES' })));
      },
    }) as unknown as Server;
    const error = await bindFirstFree(denied, '127.0.0.1', 81, { owner: 'service/a' }).catch((e: unknown) => e);
    expect((error as DevloopError).code).toBe('FORWARD_PORT_PRIVILEGED');
    expect((error as DevloopError).message).toBe('localPort 81 for service/a needs root: ports below 1024 are privileged');
  });

  it('gives up after a bounded number of tries', async () => {
    const taken = server();
    const port = await bindFirstFree(taken, '127.0.0.1', await freePort(), { owner: 'x' });
    const error = await bindFirstFree(server(), '127.0.0.1', port, { owner: 'service/a', maxTries: 1 }).catch((e: unknown) => e);
    expect((error as DevloopError).code).toBe('FORWARD_NO_FREE_PORT');
  });
});
