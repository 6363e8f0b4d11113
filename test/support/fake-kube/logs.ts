/**
 * GET /api/v1/namespaces/{ns}/pods/{name}/log, answered like the API server + kubelet:
 *  - 400 "container X is not valid for pod Y" for an unknown container (API server, LogLocation);
 *  - 422 for invalid PodLogOptions (negative tailLines, sinceSeconds < 1, both sinceTime and sinceSeconds);
 *  - 200 with an empty body for a pod not yet scheduled (no node to ask);
 *  - 400 BadRequest with the kubelet's wording when the container has nothing to show
 *    ("container \"x\" in pod \"y\" is waiting to start: ContainerCreating", "previous terminated
 *    container … not found");
 *  - else text/plain, chunked: the lines (tailLines first, then sinceTime/sinceSeconds, as the
 *    kubelet's reader applies them), each "RFC3339Nano-with-9-digits SP text" with timestamps=true;
 *    with follow=true the response stays open and streams new lines until the container stops or
 *    the pod goes away.
 * sinceTime reaches the kubelet with second precision (the API server re-formats it as RFC 3339), so
 * it is truncated to the second here as well; clients resuming with it must drop repeated lines.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SubresourceContext } from './context.js';
import type { LogLine } from './runtime.js';

/** How often a follow checks that its pod still exists. */
const POD_CHECK_MS = 100;

/** Open follows, for dropLogStreams(). */
const follows = new Set<() => void>();

/**
 * Test hook: cuts every open follow stream mid-response, as a dropped connection or an API server
 * restart would (the client sees the body end without its final chunk). Returns how many were cut.
 */
export function dropLogStreams(): number {
  const cut = [...follows];
  for (const drop of cut) drop();
  return cut.length;
}

export function handleLogs(ctx: SubresourceContext, req: IncomingMessage, res: ServerResponse): void {
  const q = ctx.query;
  const requested = q.get('container');
  const all = [...ctx.pod.spec.containers, ...(ctx.pod.spec.initContainers ?? [])].map((c) => c.name);
  if (requested && !all.includes(requested)) {
    ctx.sendStatus(res, ctx.statuses.badRequest(`container ${requested} is not valid for pod ${ctx.name}`));
    return;
  }
  const picked = ctx.resolveContainer(requested);
  if ('status' in picked) {
    ctx.sendStatus(res, picked.status);
    return;
  }
  const container = picked.container;

  const options = parseOptions(ctx, q);
  if ('status' in options) {
    ctx.sendStatus(res, options.status);
    return;
  }
  if (!ctx.pod.spec.nodeName) {
    // LogLocation returns no location for an unscheduled pod: the API server answers 200, empty.
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end();
    return;
  }

  const running = !options.previous && ctx.containerRunning(container);
  const buffer = ctx.logs(ctx.podKey, container, options.previous);
  // Not running: only a terminated instance (current or last) has a log to show.
  if (!buffer || (!running && !options.previous && !hasTerminated(ctx, container))) {
    ctx.sendStatus(res, ctx.statuses.badRequest(notAvailable(ctx, container, options.previous)));
    return;
  }

  res.writeHead(200, { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache, private' });
  res.flushHeaders();
  let sentBytes = 0;
  let finished = false;
  const render = (line: LogLine): string => (options.timestamps ? `${kubeletTimestamp(line.time)} ${line.text}\n` : `${line.text}\n`);
  const send = (line: LogLine): void => {
    if (finished) return;
    if (options.since && line.time < options.since) return;
    let text = render(line);
    if (options.limitBytes !== undefined) {
      text = Buffer.from(text).subarray(0, Math.max(0, options.limitBytes - sentBytes)).toString('utf8');
      if (text === '') return end();
    }
    sentBytes += Buffer.byteLength(text);
    res.write(text);
    if (options.limitBytes !== undefined && sentBytes >= options.limitBytes) end();
  };

  let unsubscribe: (() => void) | undefined;
  let podCheck: NodeJS.Timeout | undefined;
  let dropped = false;
  const drop = (): void => {
    dropped = true;
    res.socket?.destroy();
    end();
  };
  const end = (): void => {
    if (finished) return;
    finished = true;
    follows.delete(drop);
    unsubscribe?.();
    clearInterval(podCheck);
    if (!dropped && !res.writableEnded) res.end();
  };

  let lines = buffer.read();
  if (options.tailLines !== undefined) lines = options.tailLines === 0 ? [] : lines.slice(-options.tailLines);
  for (const line of lines) send(line);

  const live = options.follow && running && !buffer.isEnded;
  if (!live || finished) return end();
  // Subscribing in the same tick as the read above: no line can fall between them.
  unsubscribe = buffer.subscribe(send, end);
  follows.add(drop);
  const uid = ctx.pod.metadata.uid;
  podCheck = setInterval(() => {
    const now = ctx.getPod(ctx.namespace, ctx.name);
    if (!now || now.metadata.uid !== uid) end();
  }, POD_CHECK_MS);
  req.on('close', end);
  res.on('close', end);
}

interface LogOptions {
  follow: boolean;
  timestamps: boolean;
  previous: boolean;
  since?: Date;
  tailLines?: number;
  limitBytes?: number;
}

function parseOptions(ctx: SubresourceContext, q: URLSearchParams): LogOptions | { status: ReturnType<SubresourceContext['statuses']['badRequest']> } {
  const bool = (name: string): boolean | undefined => {
    const v = q.get(name);
    return v === null || v === '' ? undefined : v === 'true' || v === '1';
  };
  const int = (name: string): number | undefined | 'bad' => {
    const v = q.get(name);
    if (v === null || v === '') return undefined;
    return /^-?\d+$/.test(v) ? Number(v) : 'bad';
  };
  const tailLines = int('tailLines');
  const sinceSeconds = int('sinceSeconds');
  const limitBytes = int('limitBytes');
  for (const [name, value] of [['tailLines', tailLines], ['sinceSeconds', sinceSeconds], ['limitBytes', limitBytes]] as const) {
    if (value === 'bad') return { status: ctx.statuses.badRequest(`strconv.ParseInt: parsing ${JSON.stringify(q.get(name))}: invalid syntax`) };
  }
  const sinceTimeText = q.get('sinceTime');
  let sinceTime: Date | undefined;
  if (sinceTimeText) {
    const ms = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(sinceTimeText) ? Date.parse(sinceTimeText) : NaN;
    if (Number.isNaN(ms)) {
      return { status: ctx.statuses.badRequest(`parsing time ${JSON.stringify(sinceTimeText)} as "2006-01-02T15:04:05Z07:00": cannot parse ${JSON.stringify(sinceTimeText)} as "2006"`) };
    }
    sinceTime = new Date(Math.floor(ms / 1000) * 1000);
  }

  const causes: { reason: 'FieldValueInvalid' | 'FieldValueForbidden'; field: string; message: string }[] = [];
  if (typeof tailLines === 'number' && tailLines < 0) causes.push({ reason: 'FieldValueInvalid', field: 'tailLines', message: `Invalid value: ${tailLines}: must be greater than or equal to 0` });
  if (typeof limitBytes === 'number' && limitBytes < 1) causes.push({ reason: 'FieldValueInvalid', field: 'limitBytes', message: `Invalid value: ${limitBytes}: must be greater than 0` });
  if (sinceTime && sinceSeconds !== undefined) causes.push({ reason: 'FieldValueForbidden', field: '', message: 'Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified' });
  else if (typeof sinceSeconds === 'number' && sinceSeconds < 1) causes.push({ reason: 'FieldValueInvalid', field: 'sinceSeconds', message: `Invalid value: ${sinceSeconds}: must be greater than 0` });
  if (causes.length > 0) return { status: ctx.statuses.invalid('PodLogOptions', '', ctx.name, causes) };

  return {
    follow: bool('follow') ?? false,
    timestamps: bool('timestamps') ?? false,
    previous: bool('previous') ?? false,
    since: sinceTime ?? (typeof sinceSeconds === 'number' ? new Date(Date.now() - sinceSeconds * 1000) : undefined),
    tailLines: typeof tailLines === 'number' ? tailLines : undefined,
    limitBytes: typeof limitBytes === 'number' ? limitBytes : undefined,
  };
}

type ContainerStatus = { name: string; state?: { waiting?: { reason?: string }; terminated?: unknown; running?: unknown }; lastState?: { terminated?: unknown } };

function containerStatus(ctx: SubresourceContext, container: string): ContainerStatus | undefined {
  const status = ctx.pod.status as { containerStatuses?: ContainerStatus[]; initContainerStatuses?: ContainerStatus[] } | undefined;
  return [...(status?.containerStatuses ?? []), ...(status?.initContainerStatuses ?? [])].find((s) => s.name === container);
}

function hasTerminated(ctx: SubresourceContext, container: string): boolean {
  const status = containerStatus(ctx, container);
  return Boolean(status?.state?.terminated || status?.lastState?.terminated);
}

/** The kubelet's wording (validateContainerLogStatus) when there is no log to show. */
function notAvailable(ctx: SubresourceContext, container: string, previous: boolean): string {
  const pod = ctx.name;
  if (previous) return `previous terminated container "${container}" in pod "${pod}" not found`;
  const status = containerStatus(ctx, container);
  if (!status) return `container "${container}" in pod "${pod}" is waiting to start: ContainerCreating`;
  const reason = status.state?.waiting?.reason;
  if (reason === 'ErrImagePull') return `container "${container}" in pod "${pod}" is waiting to start: image can't be pulled`;
  if (reason === 'ImagePullBackOff') return `container "${container}" in pod "${pod}" is waiting to start: trying and failing to pull image`;
  if (reason) return `container "${container}" in pod "${pod}" is waiting to start: ${reason}`;
  if (status.state?.terminated) return `container "${container}" in pod "${pod}" is terminated`;
  return `container "${container}" in pod "${pod}" is waiting to start - no logs yet`;
}

/** The kubelet's "2006-01-02T15:04:05.000000000Z07:00": always nine fraction digits. */
export function kubeletTimestamp(time: Date): string {
  return time.toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
}
