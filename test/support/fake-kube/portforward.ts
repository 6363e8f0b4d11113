/**
 * GET /api/v1/namespaces/{ns}/pods/{name}/portforward?ports=… as a WebSocket upgrade, answered the
 * way the kubelet's WebSocket port-forward does (pkg/kubelet/cri/streaming/portforward/websocket.go
 * behind the API server's upgrade proxy):
 *  - subprotocols: the first one the client offers among "v4.channel.k8s.io" and
 *    "v4.base64.channel.k8s.io" (or none offered at all); anything else is a 403 handshake failure.
 *    client-node 1.4 offers v5, v4, v3, v2, channel.k8s.io in that order, so it gets v4.channel.k8s.io.
 *  - two channels per requested port, in order: 2i = data, 2i+1 = error. Every frame starts with its
 *    channel byte (an ASCII digit, payload base64, in the base64 protocol).
 *  - the first frame the server sends on each channel is the port number, 2 bytes little-endian.
 *  - data the client sends on a data channel goes to the pod's port; a failure (nothing listening,
 *    the pod going away) is written as text on the error channel, then the WebSocket closes.
 *  - when the pod's side of a connection ends, the runtime (containerd) waits up to 1 s for the client
 *    side before it tears the stream down, then the WebSocket closes normally.
 */
import type { IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import type { SubresourceContext } from './context.js';

const SUPPORTED = ['v4.channel.k8s.io', 'v4.base64.channel.k8s.io'];
/** containerd: after one direction ends, wait this long for the other before closing. */
const HALF_CLOSE_GRACE_MS = 1_000;
/** How often an open forward checks that its pod still exists (a deleted pod's network goes away). */
const POD_CHECK_MS = 100;

const server = new WebSocketServer({
  noServer: true,
  clientTracking: false,
  perMessageDeflate: false,
  handleProtocols: (protocols) => pickProtocol([...protocols]) ?? false,
});

function pickProtocol(offered: string[]): string | undefined {
  return offered.find((p) => SUPPORTED.includes(p));
}

/** Query "ports" as the kubelet parses it: repeated or comma-separated, each 1-65535. */
function parsePorts(query: URLSearchParams): number[] | string {
  const values = query.getAll('ports');
  if (values.length === 0) return 'query parameter "port" is required';
  const ports: number[] = [];
  for (const value of values) {
    if (value === '') return 'query parameter "port" cannot be empty';
    for (const piece of value.split(',')) {
      const port = /^\d+$/.test(piece) ? Number(piece) : NaN;
      if (Number.isNaN(port) || port > 65535) return `unable to parse "${value}" as a port: strconv.ParseUint: parsing "${piece}": ${Number.isNaN(port) ? 'invalid syntax' : 'value out of range'}`;
      if (port < 1) return `port "${value}" must be > 0`;
      ports.push(port);
    }
  }
  return ports;
}

export function handlePortForward(ctx: SubresourceContext, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  const ports = parsePorts(ctx.query);
  if (typeof ports === 'string') {
    ctx.rejectUpgrade(socket, ctx.statuses.badRequest(ports));
    return;
  }
  const header = req.headers['sec-websocket-protocol'];
  const offered = header ? header.split(',').map((p) => p.trim()).filter(Boolean) : [];
  if (offered.length > 0 && !pickProtocol(offered)) {
    // golang.org/x/net/websocket answers a failed subprotocol handshake with a bare 403.
    ctx.rejectUpgrade(socket, {
      ...ctx.statuses.badRequest(`requested protocol(s) are not supported: [${offered.join(' ')}]; supports [${['', ...SUPPORTED].join(' ')}]`),
      code: 403,
      reason: 'Forbidden',
    });
    return;
  }
  server.handleUpgrade(req, socket, head, (ws) => serve(ctx, ws, ports));
}

function serve(ctx: SubresourceContext, ws: WebSocket, ports: number[]): void {
  const base64 = ws.protocol === 'v4.base64.channel.k8s.io';
  const frame = (channel: number, payload: Buffer): void => {
    if (ws.readyState !== ws.OPEN) return;
    if (base64) ws.send(String.fromCharCode(48 + channel) + payload.toString('base64'));
    else ws.send(Buffer.concat([Buffer.from([channel]), payload]));
  };
  const uid = ctx.pod.metadata.uid;
  const sandbox = uid.replace(/-/g, '').padEnd(64, '0').slice(0, 64);

  let open = ports.length;
  const conns: (Socket | undefined)[] = [];
  const finishPort = (): void => {
    open -= 1;
    if (open === 0 && ws.readyState === ws.OPEN) ws.close(1000);
  };

  ports.forEach((port, index) => {
    const portBytes = Buffer.alloc(2);
    portBytes.writeUInt16LE(port, 0);
    frame(index * 2, portBytes);
    frame(index * 2 + 1, portBytes);

    const fail = (reason: string): void => {
      frame(index * 2 + 1, Buffer.from(`error forwarding port ${port} to pod ${sandbox}, uid : ${reason}`));
    };
    const endpoint = findEndpoint(ctx, port);
    if (!endpoint) {
      fail(
        `failed to execute portforward in network namespace "/var/run/netns/cni-${uid}": failed to connect to localhost:${port} inside namespace "${sandbox}", IPv4: dial tcp4 127.0.0.1:${port}: connect: connection refused IPv6 dial tcp6: address localhost: no suitable address found `,
      );
      finishPort();
      return;
    }
    const conn = connect({ host: endpoint.host, port: endpoint.port, noDelay: true, allowHalfOpen: true });
    conns[index] = conn;
    let done = false;
    let grace: NodeJS.Timeout | undefined;
    const finish = (): void => {
      if (done) return;
      if (stalling()) return;
      done = true;
      clearTimeout(grace);
      conn.destroy();
      finishPort();
    };
    conn.on('data', (chunk: Buffer) => {
      if (!stalling()) frame(index * 2, chunk);
    });
    conn.on('error', (error: NodeJS.ErrnoException) => {
      if (stalling()) return;
      if (grace) return finish(); // the pod already closed its side; a late write failing is not news
      const what = error.code === 'ECONNREFUSED' ? `dial tcp4 127.0.0.1:${port}: connect: connection refused` : `read tcp4 127.0.0.1:${port}: ${error.code === 'ECONNRESET' ? 'read: connection reset by peer' : error.message}`;
      fail(`failed to execute portforward in network namespace "/var/run/netns/cni-${uid}": ${what}`);
      finish();
    });
    conn.on('end', () => {
      grace = setTimeout(finish, HALF_CLOSE_GRACE_MS);
    });
    conn.on('close', () => {
      if (!grace) finish();
    });
  });

  // controls.stallPortForwardsOfGonePods: once the pod is being deleted, nothing of its side (no
  // error, no end) reaches the client any more and the stream stays open and silent.
  let stalled = false;
  const stalling = (): boolean => {
    if (stalled) return true;
    const now = ctx.getPod(ctx.namespace, ctx.name);
    if (!ctx.stallWhenPodGone() || (now && now.metadata.uid === uid && !now.metadata.deletionTimestamp)) return false;
    stalled = true;
    for (const conn of conns) {
      conn?.removeAllListeners().on('error', () => undefined);
      conn?.destroy();
    }
    conns.length = 0;
    return true;
  };
  const podCheck = setInterval(() => {
    const now = ctx.getPod(ctx.namespace, ctx.name);
    if (stalling() || (now && now.metadata.uid === uid)) return;
    // The pod's network namespace is gone: connections inside it are reset.
    for (const conn of conns) conn?.destroy(Object.assign(new Error('reset'), { code: 'ECONNRESET' }));
  }, POD_CHECK_MS);

  ws.on('message', (data: RawData) => {
    let buffer = toBuffer(data);
    if (buffer.length === 0) return;
    let channel = buffer[0]!;
    buffer = buffer.subarray(1);
    if (base64) {
      channel -= 48;
      buffer = Buffer.from(buffer.toString('utf8'), 'base64');
    }
    // Only even channels are readable; frames for error channels or unknown ones are dropped.
    if (channel % 2 !== 0 || channel >= ports.length * 2) return;
    const conn = conns[channel / 2];
    if (conn && !conn.destroyed && buffer.length > 0) conn.write(buffer);
  });
  ws.on('close', () => {
    clearInterval(podCheck);
    for (const conn of conns) conn?.destroy();
  });
  ws.on('error', () => ws.terminate());
}

function findEndpoint(ctx: SubresourceContext, port: number): { host: string; port: number } | undefined {
  const pod = ctx.getPod(ctx.namespace, ctx.name);
  if (!pod || pod.metadata.uid !== ctx.pod.metadata.uid) return undefined;
  for (const container of pod.spec.containers) {
    if (!ctx.containerRunning(container.name)) continue;
    const endpoint = ctx.runtime.endpoint(ctx.podKey, container.name, port);
    if (endpoint) return endpoint;
  }
  return undefined;
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
