/**
 * Local port choice by binding: the port devloop gets is the one its own listener holds, so there
 * is no gap between "found a free port" and "bound it" for another process to slip into.
 */
import type { Server } from 'node:net';
import { DevloopError } from '../errors.js';

export interface BindOptions {
  /** Who the port is for, in messages ("service/hello"). */
  owner: string;
  /** How many ports above the requested one to try when it is taken. */
  maxTries?: number;
  /** Ports this session already handed out; skipped without trying. */
  reserved?: ReadonlySet<number>;
}

function validateLocalPort(port: number, owner: string): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new DevloopError('FORWARD_PORT_INVALID', `localPort ${port} for ${owner} is out of range (1-65535)`, {
      hint: 'pick a localPort between 1024 and 65535',
      exitCode: 2,
    });
  }
}

/** Binds `server` on address:requested, or the next free port above it. Returns the bound port. */
export async function bindFirstFree(server: Server, address: string, requested: number, options: BindOptions): Promise<number> {
  validateLocalPort(requested, options.owner);
  const maxTries = options.maxTries ?? 100;
  for (let port = requested, tries = 0; port <= 65535 && tries < maxTries; port++) {
    if (options.reserved?.has(port)) continue;
    tries++;
    const error = await tryListen(server, address, port);
    if (!error) return port;
    if (error.code === 'EADDRINUSE') continue;
    if (error.code === 'EACCES') {
      throw new DevloopError('FORWARD_PORT_PRIVILEGED', `localPort ${port} for ${options.owner} needs root: ports below 1024 are privileged`, {
        hint: 'set a localPort of 1024 or more (or omit localPort)',
        cause: error,
      });
    }
    if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN') {
      throw new DevloopError('FORWARD_ADDRESS_INVALID', `cannot listen on ${address} for ${options.owner}: no such local address`, {
        hint: 'use 127.0.0.1 (the default) or an address of this machine',
        cause: error,
      });
    }
    throw new DevloopError('FORWARD_LISTEN_FAILED', `cannot listen on ${address}:${port} for ${options.owner}: ${error.message}`, { cause: error });
  }
  throw new DevloopError('FORWARD_NO_FREE_PORT', `no free local port in ${requested}-${Math.min(65535, requested + maxTries - 1)} for ${options.owner}`, {
    hint: 'free some ports or set another localPort',
  });
}

function tryListen(server: Server, address: string, port: number): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      resolve(error);
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve(undefined);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    // exclusive: a port held by another process in this cluster-of-workers must count as taken.
    server.listen({ port, host: address, exclusive: true });
  });
}
