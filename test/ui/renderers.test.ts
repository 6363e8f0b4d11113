import { describe, expect, test } from 'vitest';
import { EventBus } from '../../src/events/bus.js';
import type { DevloopEvent, DevloopEventBody } from '../../src/events/types.js';
import { JsonRenderer } from '../../src/ui/json.js';
import { TerminalRenderer } from '../../src/ui/terminal.js';
import { formatMs, shouldUseColor, type Output } from '../../src/ui/output.js';
import { VirtualTerminal } from '../support/vt.js';
import { printable } from '../../src/ui/live.js';

class Buffer implements Output {
  text = '';
  write(chunk: string, callback?: () => void): boolean {
    this.text += chunk;
    callback?.();
    return true;
  }
}

const ESC = '\u001b[';
const at = (iso: string) => ({ time: iso });

function terminal(color = false) {
  const err = new Buffer();
  const out = new Buffer();
  return { err, out, renderer: new TerminalRenderer(err, out, { color, verbose: false, timer: false }) };
}

describe('json renderer', () => {
  test('one JSON object per line on stdout, each with the time the bus stamped; nothing else', async () => {
    const out = new Buffer();
    const err = new Buffer();
    const renderer = new JsonRenderer(out, err);
    const bus = new EventBus();
    bus.on((event) => renderer.render(event));
    const bodies: DevloopEventBody[] = [
      { type: 'stage', stage: 'build', artifact: 'hello', status: 'start' },
      { type: 'stage', stage: 'build', artifact: 'hello', status: 'end', durationMs: 12 },
      { type: 'forward', resource: 'service/hello', port: 80, localPort: 8080, address: '127.0.0.1', status: 'ready' },
      { type: 'log', pod: 'hello-1', container: 'hello', line: 'listening' },
      { type: 'error', code: 'INTERNAL', message: 'boom', hint: 'fix it' },
    ];
    for (const body of bodies) bus.emit(body);
    await renderer.close();
    const lines = out.text.trimEnd().split('\n');
    expect(lines).toHaveLength(bodies.length);
    lines.forEach((line, i) => {
      const event = JSON.parse(line) as DevloopEvent;
      expect(event).toEqual({ ...bodies[i], time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) });
    });
    expect(err.text).toBe('');
  });
});

describe('terminal renderer', () => {
  test('prints per-stage durations and, at the end, a summary line with wall-clock stage spans', async () => {
    const { err, out, renderer } = terminal();
    const events: DevloopEvent[] = [
      { type: 'stage', stage: 'compile', artifact: 'hello', status: 'start', ...at('2025-01-01T00:00:00.000Z') },
      { type: 'stage', stage: 'compile', artifact: 'hello', status: 'end', durationMs: 1200, ...at('2025-01-01T00:00:01.200Z') },
      { type: 'stage', stage: 'build', artifact: 'hello', status: 'end', durationMs: 2000, ...at('2025-01-01T00:00:03.200Z') },
      // a concurrent build of another artifact overlaps: the span is 2.5s, not 4s
      { type: 'stage', stage: 'build', artifact: 'quote', status: 'end', durationMs: 2000, ...at('2025-01-01T00:00:03.700Z') },
      { type: 'stage', stage: 'push', artifact: 'quote', status: 'skipped', detail: 'cached', ...at('2025-01-01T00:00:03.700Z') },
      { type: 'artifact', image: 'hello', tag: `127.0.0.1:5000/hello:abc@sha256:${'0123456789ab'.repeat(5)}0123`, cached: false, ...at('2025-01-01T00:00:03.800Z') },
      { type: 'stage', stage: 'apply', status: 'end', durationMs: 300, ...at('2025-01-01T00:00:04.200Z') },
    ];
    for (const event of events) renderer.render(event);
    await renderer.close();
    expect(err.text.split('\n')).toEqual([
      '✓ compile hello 1.2s',
      '✓ build hello 2.0s',
      '✓ build quote 2.0s',
      '· push quote skipped (cached)',
      '  hello → 127.0.0.1:5000/hello:abc@sha256:0123456789ab…',
      '✓ apply 300ms',
      '✓ done in 4.2s — compile 1.2s · build 2.5s · apply 300ms',
      '',
    ]);
    expect(out.text).toBe('');
  });

  test('an iteration: a header with its reason, the stage lines, a result line; a failure is reported once', async () => {
    const { err, renderer } = terminal();
    renderer.render({ type: 'iteration', n: 2, status: 'start', reason: 'sync hello: a.css and 3 more changed', changed: ['a.css', 'b.css', 'c.css', 'd.css'], ...at('2025-01-01T00:00:00.000Z') });
    renderer.render({ type: 'stage', stage: 'sync', artifact: 'hello', status: 'end', durationMs: 40, ...at('2025-01-01T00:00:00.040Z') });
    renderer.render({ type: 'iteration', n: 2, status: 'ok', durationMs: 90, stages: [{ stage: 'sync', durationMs: 40 }], ...at('2025-01-01T00:00:00.090Z') });
    renderer.render({ type: 'iteration', n: 3, status: 'start', reason: 'rebuild hello: Dockerfile changed', ...at('2025-01-01T00:00:00.100Z') });
    renderer.render({ type: 'stage', stage: 'build', artifact: 'hello', status: 'error', durationMs: 500, ...at('2025-01-01T00:00:01.000Z') });
    renderer.render({ type: 'error', code: 'DOCKER_BUILD_FAILED', message: 'docker build failed', hint: 'see the log above', artifact: 'hello', stage: 'build', ...at('2025-01-01T00:00:01.000Z') });
    renderer.render({ type: 'iteration', n: 3, status: 'error', durationMs: 600, stages: [{ stage: 'build', durationMs: 500 }], reason: 'docker build failed', ...at('2025-01-01T00:00:01.000Z') });
    await renderer.close();
    expect(err.text.split('\n')).toEqual([
      '── iteration 2 · sync hello: a.css and 3 more changed',
      '✓ sync hello 40ms',
      '✓ iteration 2 ok in 90ms',
      '── iteration 3 · rebuild hello: Dockerfile changed',
      '✗ build hello failed after 500ms',
      'error: hello build: docker build failed',
      '  hint: see the log above',
      '✗ iteration 3 failed after 600ms',
      '',
    ]);
  });

  test('pod logs and forwards: logs on stdout with a pod prefix, forwards on stderr; a new pod behind the same URL is no news', async () => {
    const { err, out, renderer } = terminal();
    renderer.render({ type: 'log', pod: 'hello-abc', container: 'hello', line: 'GET /', ...at('2025-01-01T00:00:00.000Z') });
    renderer.render({ type: 'forward', resource: 'service/hello', port: 80, localPort: 8080, address: '127.0.0.1', status: 'ready', ...at('2025-01-01T00:00:00.000Z') });
    renderer.render({ type: 'notice', level: 'warn', message: 'port 8080 busy, using 8081', ...at('2025-01-01T00:00:00.000Z') });
    renderer.render({ type: 'forward', resource: 'service/hello', port: 80, localPort: 8080, address: '127.0.0.1', status: 'ready', pod: 'hello-def', ...at('2025-01-01T00:00:01.000Z') });
    await renderer.close();
    expect(out.text).toBe('[hello-abc/hello] GET /\n');
    expect(err.text).toBe('⇄ service/hello:80 → http://127.0.0.1:8080\n! port 8080 busy, using 8081\n');
  });

  test('colour codes only when colour is on; each pod/container prefix gets its own colour', async () => {
    const event: DevloopEvent = { type: 'stage', stage: 'build', artifact: 'a', status: 'end', durationMs: 5, time: '2025-01-01T00:00:00.000Z' };
    const plain = terminal(false);
    plain.renderer.render(event);
    expect(plain.err.text).not.toContain(ESC);
    const coloured = terminal(true);
    coloured.renderer.render(event);
    expect(coloured.err.text).toContain(`${ESC}32m✓${ESC}39m`);
    for (const pod of ['a-1', 'b-1', 'a-1']) coloured.renderer.render({ type: 'log', pod, container: 'c', line: 'x', ...at('2025-01-01T00:00:00.000Z') });
    const colours = coloured.out.text.trimEnd().split('\n').map((line) => /^\u001b\[(\d+)m/.exec(line)?.[1]);
    expect(colours[0]).toBeDefined();
    expect(colours[1]).not.toBe(colours[0]);
    expect(colours[2]).toBe(colours[0]);
  });
});

describe('tool output: kept per stage, shown when it fails or with --verbose', () => {
  const compileFailure: DevloopEventBody[] = [
    { type: 'iteration', n: 2, status: 'start', reason: 'rebuild hello: main.go changed' },
    { type: 'stage', stage: 'compile', artifact: 'hello', status: 'start' },
    ...Array.from({ length: 20 }, (_, i): DevloopEventBody => ({ type: 'log', artifact: 'hello', stage: 'compile', stream: 'stderr', line: `note ${i + 1}` })),
    { type: 'log', artifact: 'hello', stage: 'compile', stream: 'stderr', line: './main.go:12:18: undefined: undefinedThing' },
    { type: 'stage', stage: 'compile', artifact: 'hello', status: 'error', durationMs: 183 },
    {
      type: 'error',
      code: 'COMPILE_FAILED',
      message: 'compile "go build -o bin/hello ." failed with exit code 2: ./main.go:12:18: undefined: undefinedThing',
      hint: 'its last 20 output lines are above (log events of stage compile)',
      artifact: 'hello',
      stage: 'compile',
    },
    { type: 'iteration', n: 2, status: 'error', durationMs: 200, reason: 'compile failed' },
  ];

  test('a failed compile shows its last lines under the failed stage, then the command and exit code; no control codes without a terminal', () => {
    const { err, renderer } = terminal();
    for (const body of compileFailure) renderer.render({ ...body, ...at('2025-06-01T10:00:00.000Z') } as DevloopEvent);
    expect(err.text).not.toContain('\u001b');
    expect(err.text.split('\n')).toEqual([
      '── iteration 2 · rebuild hello: main.go changed',
      '✗ compile hello failed after 183ms',
      '  │ … 6 earlier lines (--verbose shows all output)',
      ...Array.from({ length: 14 }, (_, i) => `  │ note ${i + 7}`),
      '  │ ./main.go:12:18: undefined: undefinedThing',
      'error: hello compile: compile "go build -o bin/hello ." failed with exit code 2: ./main.go:12:18: undefined: undefinedThing',
      '  hint: its last 20 output lines are above (log events of stage compile)',
      '✗ iteration 2 failed after 200ms',
      '',
    ]);
  });

  test('output of a stage that succeeds is not shown; docker push layers are summed up by the push line, not printed', () => {
    const { err, renderer } = terminal();
    const events: DevloopEventBody[] = [
      { type: 'stage', stage: 'build', artifact: 'hello', status: 'start' },
      { type: 'log', artifact: 'hello', stage: 'build', stream: 'stdout', line: 'Step 1/6 : ARG BASE=busybox:1.36' },
      { type: 'stage', stage: 'build', artifact: 'hello', status: 'end', durationMs: 1100 },
      { type: 'stage', stage: 'push', artifact: 'hello', status: 'start' },
      { type: 'log', artifact: 'hello', stage: 'push', stream: 'stdout', line: '7c1820cedc72: Pushed' },
      { type: 'progress', stage: 'push', artifact: 'hello', message: 'layer 7c1820cedc72: pushed' },
      { type: 'log', artifact: 'hello', stage: 'push', stream: 'stdout', line: '9d31c7c4ae3d: Layer already exists' },
      { type: 'progress', stage: 'push', artifact: 'hello', message: 'layer 9d31c7c4ae3d: layer already exists' },
      { type: 'stage', stage: 'push', artifact: 'hello', status: 'end', durationMs: 678, detail: '1 layers pushed, 1 already there' },
      // the oci builder's push ends without a detail: its last progress message sums it up
      { type: 'stage', stage: 'push', artifact: 'quote', status: 'start' },
      { type: 'progress', stage: 'push', artifact: 'quote', message: 'uploading layer 1', current: 10, total: 100 },
      { type: 'progress', stage: 'push', artifact: 'quote', message: `pushed r/quote:1@sha256:${'ab'.repeat(32)} (1 uploaded, 2 mounted)`, current: 100, total: 100 },
      { type: 'stage', stage: 'push', artifact: 'quote', status: 'end', durationMs: 90 },
      { type: 'stage', stage: 'prune', status: 'start' },
      { type: 'progress', stage: 'prune', resource: 'service/old', message: 'pruned service/old in dev' },
      { type: 'stage', stage: 'prune', status: 'end', durationMs: 20 },
    ];
    for (const body of events) renderer.render({ ...body, ...at('2025-06-01T10:00:00.000Z') } as DevloopEvent);
    expect(err.text.split('\n')).toEqual([
      '✓ build hello 1.1s',
      '✓ push hello 678ms (1 layers pushed, 1 already there)',
      '✓ push quote 90ms (1 uploaded, 2 mounted)',
      '  pruned service/old in dev',
      '✓ prune 20ms',
      '',
    ]);
  });

  test('--verbose prints tool output as it comes (and the failure does not repeat it)', () => {
    const err = new Buffer();
    const renderer = new TerminalRenderer(err, new Buffer(), { color: false, verbose: true, timer: false });
    for (const body of compileFailure.slice(1, 4)) renderer.render({ ...body, ...at('2025-06-01T10:00:00.000Z') } as DevloopEvent);
    renderer.render({ ...compileFailure[23]!, ...at('2025-06-01T10:00:00.000Z') } as DevloopEvent);
    expect(err.text.split('\n')).toEqual(['▸ compile hello', '  [hello compile] note 1', '  [hello compile] note 2', '✗ compile hello failed after 183ms', '']);
  });

  test('without a terminal, a stage running long says so every 30 s (tick)', () => {
    let now = Date.parse('2025-06-01T10:00:00.000Z');
    const err = new Buffer();
    const renderer = new TerminalRenderer(err, new Buffer(), { color: false, verbose: false, timer: false, now: () => now });
    renderer.render({ type: 'stage', stage: 'compile', artifact: 'hello', status: 'start', time: '2025-06-01T10:00:00.000Z' });
    now += 10_000;
    renderer.tick();
    expect(err.text).toBe('');
    now += 21_000;
    renderer.tick();
    renderer.tick();
    expect(err.text).toBe('… compile hello still running (31.0s)\n');
  });
});

describe('skipped stages', () => {
  test('the stages of one artifact skipped together for one reason are one line', async () => {
    const { err, renderer } = terminal();
    const skip = (stage: 'compile' | 'build' | 'push', artifact: string): DevloopEvent => ({ type: 'stage', stage, artifact, status: 'skipped', detail: 'cached', time: '2025-06-01T10:00:00.000Z' });
    renderer.render(skip('compile', 'hello'));
    renderer.render(skip('build', 'hello'));
    renderer.render(skip('push', 'hello'));
    renderer.render(skip('build', 'quote'));
    renderer.render({ type: 'artifact', image: 'hello', tag: 'r/hello:1', cached: true, time: '2025-06-01T10:00:00.000Z' });
    renderer.render(skip('push', 'quote'));
    await Promise.resolve();
    expect(err.text.split('\n')).toEqual(['· compile, build, push hello skipped (cached)', '· build quote skipped (cached)', '  hello → r/hello:1 (cached)', '· push quote skipped (cached)', '']);
  });
});

describe('text from elsewhere', () => {
  test('only colour codes stay: cursor movement, erasing, carriage returns and other controls would move the live rows', () => {
    expect(printable('\u001b[32mok\u001b[39m 50%\r\u001b[2K\u001b[1A100%\u001b]0;title\u0007\tdone\u0008')).toBe('\u001b[32mok\u001b[39m 50%100%  done');
  });

  test('tool output keeps no control codes without colour (a failed compile that printed colours)', () => {
    const { err, renderer } = terminal();
    renderer.render({ type: 'stage', stage: 'compile', artifact: 'a', status: 'start', time: '2025-06-01T10:00:00.000Z' });
    renderer.render({ type: 'log', artifact: 'a', stage: 'compile', stream: 'stderr', line: '\u001b[31merror\u001b[0m: boom\r', time: '2025-06-01T10:00:00.000Z' });
    renderer.render({ type: 'stage', stage: 'compile', artifact: 'a', status: 'error', durationMs: 5, time: '2025-06-01T10:00:00.000Z' });
    expect(err.text).toBe('✗ compile a failed after 5ms\n  │ error: boom\n');
  });
});

describe('pods without a terminal', () => {
  test('a workload whose ready count changes between iterations gets a line; during an iteration the status stage reports', () => {
    const { err, renderer } = terminal();
    const pods = (ready: number, total = 1): DevloopEvent => ({ type: 'pods', workload: 'deployment/hello', namespace: 'dev', ready, total, time: '2025-06-01T10:00:00.000Z' });
    renderer.render({ type: 'iteration', n: 1, status: 'start', reason: 'initial build and deploy', time: '2025-06-01T10:00:00.000Z' });
    renderer.render(pods(0));
    renderer.render(pods(1));
    renderer.render({ type: 'iteration', n: 1, status: 'ok', durationMs: 900, time: '2025-06-01T10:00:00.900Z' });
    renderer.render(pods(1));
    renderer.render(pods(0)); // a crash
    renderer.render(pods(1));
    expect(err.text.split('\n')).toEqual([
      '── iteration 1 · initial build and deploy',
      '✓ iteration 1 ok in 900ms',
      '● deployment/hello 0/1 ready',
      '● deployment/hello 1/1 ready',
      '',
    ]);
  });
});

describe('on a terminal: in-place stage lines and a status block', () => {
  const T0 = Date.parse('2025-06-01T10:00:00.000Z');
  function live(columns = 100, rows = 40) {
    const screen = new VirtualTerminal();
    let now = T0;
    const renderer = new TerminalRenderer(screen, screen, {
      color: false,
      verbose: false,
      timer: false,
      now: () => now,
      live: { columns: () => columns, rows: () => rows, outIsTerminal: true },
    });
    const feed = (body: DevloopEventBody, ms = 0) => {
      now = T0 + ms;
      renderer.render({ ...body, time: new Date(T0 + ms).toISOString() } as DevloopEvent);
    };
    return { screen, renderer, feed, setNow: (ms: number) => (now = T0 + ms) };
  }

  test('a running stage is one line updated in place, and becomes its ✓ line', () => {
    const { screen, renderer, feed, setNow } = live();
    feed({ type: 'iteration', n: 2, status: 'start', reason: 'rebuild hello: main.go changed' });
    feed({ type: 'stage', stage: 'compile', artifact: 'hello', status: 'start' });
    expect(screen.screen()).toEqual(['── iteration 2 · rebuild hello: main.go changed', '⠋ compile hello 0ms']);
    feed({ type: 'log', artifact: 'hello', stage: 'compile', stream: 'stdout', line: 'compiling main.go' }, 300);
    setNow(1200);
    renderer.tick();
    expect(screen.screen()).toEqual(['── iteration 2 · rebuild hello: main.go changed', '⠙ compile hello 1.2s  compiling main.go']);
    feed({ type: 'stage', stage: 'compile', artifact: 'hello', status: 'end', durationMs: 1300 }, 1300);
    feed({ type: 'stage', stage: 'push', artifact: 'hello', status: 'start' }, 1300);
    feed({ type: 'progress', stage: 'push', artifact: 'hello', message: 'uploading layer 1', current: 3 * 1024 * 1024, total: 6 * 1024 * 1024 }, 1500);
    expect(screen.screen()).toEqual([
      '── iteration 2 · rebuild hello: main.go changed',
      '✓ compile hello 1.3s',
      '⠙ push hello 200ms  ━━━━━━━━━━────────── 3.0 MB/6.0 MB',
    ]);
    feed({ type: 'stage', stage: 'push', artifact: 'hello', status: 'end', durationMs: 400, detail: '1 layers pushed' }, 1700);
    feed({ type: 'iteration', n: 2, status: 'ok', durationMs: 1800 }, 1800);
    expect(screen.screen()).toEqual([
      '── iteration 2 · rebuild hello: main.go changed',
      '✓ compile hello 1.3s',
      '✓ push hello 400ms (1 layers pushed)',
      '✓ iteration 2 ok in 1.8s',
    ]);
  });

  test('the status block stays at the bottom: forwards, pods ready, the last iteration, pending changes; pod logs scroll above it', async () => {
    const { screen, renderer, feed } = live();
    feed({ type: 'iteration', n: 1, status: 'start', reason: 'initial build and deploy' });
    feed({ type: 'pods', workload: 'deployment/hello', namespace: 'dev', ready: 0, total: 1 }, 100);
    feed({ type: 'stage', stage: 'status', status: 'start' }, 100);
    feed({ type: 'progress', stage: 'status', resource: 'deployment/hello', message: '0 of 1 replicas ready (3s)' }, 3100);
    expect(screen.screen()).toEqual([
      '── iteration 1 · initial build and deploy',
      '⠋ status 3.0s  deployment/hello: 0 of 1 replicas ready (3s)',
      '─'.repeat(60),
      '● deployment/hello 0/1 ready',
      '⠋ iteration 1 3.1s · initial build and deploy',
    ]);
    feed({ type: 'log', pod: 'hello-7d5-xmt47', container: 'hello', line: 'hello listening on :8080' }, 3200);
    feed({ type: 'pods', workload: 'deployment/hello', namespace: 'dev', ready: 1, total: 1 }, 3300);
    feed({ type: 'stage', stage: 'status', status: 'end', durationMs: 3300 }, 3400);
    feed({ type: 'forward', resource: 'service/hello', port: 80, localPort: 8080, address: '127.0.0.1', status: 'ready', pod: 'hello-7d5-xmt47' }, 3500);
    feed({ type: 'iteration', n: 1, status: 'ok', durationMs: 3600 }, 3600);
    feed({ type: 'pending', count: 2 }, 5000);
    const block = [
      '─'.repeat(60),
      '⇄ http://127.0.0.1:8080 → service/hello:80 (hello-7d5-xmt47)',
      '● deployment/hello 1/1 ready',
      `✓ iteration 1 ok in 3.6s · initial build and deploy · ${new Date(T0 + 3600).toTimeString().slice(0, 8)}`,
      '… 2 changed files pending',
    ];
    expect(screen.screen()).toEqual([
      '── iteration 1 · initial build and deploy',
      '[hello-7d5-xmt47/hello] hello listening on :8080',
      '✓ status 3.3s',
      '✓ iteration 1 ok in 3.6s',
      ...block,
    ]);
    await renderer.close();
    // the live lines go; what was printed stays, and the cursor is back
    expect(screen.screen()).toEqual(['── iteration 1 · initial build and deploy', '[hello-7d5-xmt47/hello] hello listening on :8080', '✓ status 3.3s', '✓ iteration 1 ok in 3.6s']);
    expect(screen.cursorHidden).toBe(false);
  });

  test('pod log lines that arrive together step past the live lines once', async () => {
    const { screen, feed } = live();
    feed({ type: 'pods', workload: 'deployment/hello', namespace: 'dev', ready: 1, total: 1 });
    const writes: string[] = [];
    const write = screen.write.bind(screen);
    screen.write = (chunk: string, callback?: () => void) => (writes.push(chunk), write(chunk, callback));
    for (let i = 0; i < 50; i++) feed({ type: 'log', pod: 'hello-1', container: 'hello', line: `GET /${i}` });
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes.filter((chunk) => chunk.includes('\u001b[J'))).toHaveLength(1);
    expect(screen.screen().slice(0, 2)).toEqual(['[hello-1/hello] GET /0', '[hello-1/hello] GET /1']);
    expect(screen.screen().slice(-3)).toEqual(['[hello-1/hello] GET /49', '─'.repeat(60), '● deployment/hello 1/1 ready']);
  });

  test('live lines are cut to the width of the terminal (one row each), with an ellipsis', () => {
    const { screen, feed } = live(30);
    feed({ type: 'stage', stage: 'compile', artifact: 'a-very-long-artifact-name-indeed', status: 'start' });
    expect(screen.screen()).toEqual(['⠋ compile a-very-long-artifa…']);
    expect(screen.screen()[0]).toHaveLength(29);
  });
});

describe('colour decision', () => {
  test.each([
    [{ flag: true, isTTY: true, env: {} }, true],
    [{ flag: true, isTTY: false, env: {} }, false],
    [{ flag: true, isTTY: undefined, env: {} }, false],
    [{ flag: false, isTTY: true, env: {} }, false], // --no-color
    [{ flag: true, isTTY: true, env: { NO_COLOR: '1' } }, false],
    [{ flag: true, isTTY: true, env: { NO_COLOR: '' } }, true], // only a non-empty NO_COLOR counts
    [{ flag: true, isTTY: true, env: { TERM: 'dumb' } }, false],
    [{ flag: true, isTTY: false, env: { FORCE_COLOR: '1' } }, true],
    [{ flag: false, isTTY: false, env: { FORCE_COLOR: '1' } }, false],
  ])('%j → %s', (input, expected) => {
    expect(shouldUseColor(input)).toBe(expected);
  });

  test('durations read naturally', () => {
    expect([formatMs(12), formatMs(1234), formatMs(65_000)]).toEqual(['12ms', '1.2s', '1m05s']);
  });
});

describe('hook events in the terminal', () => {
  const events: DevloopEventBody[] = [
    { type: 'stage', stage: 'hook', hook: 'codegen', artifact: 'web', status: 'start' },
    { type: 'log', artifact: 'web', stage: 'hook', hook: 'codegen', stream: 'stdout', line: 'generated 3 files' },
    { type: 'stage', stage: 'hook', hook: 'codegen', artifact: 'web', status: 'end', durationMs: 120 },
    { type: 'stage', stage: 'hook', hook: 'migrate', status: 'skipped', detail: 'no running container of web' },
  ];

  test('a hook stage shows its name (and artifact); its output only with --verbose, prefixed with artifact, stage and name', async () => {
    const { err, renderer } = terminal();
    for (const body of events) renderer.render({ ...body, ...at('2025-06-01T10:00:00.000Z') } as DevloopEvent);
    await renderer.close();
    expect(err.text.split('\n')).toEqual(['✓ hook codegen web 120ms', '· hook migrate skipped (no running container of web)', '']);
    const verbose = new Buffer();
    const loud = new TerminalRenderer(verbose, new Buffer(), { color: false, verbose: true, timer: false });
    for (const body of events) loud.render({ ...body, ...at('2025-06-01T10:00:00.000Z') } as DevloopEvent);
    await loud.close();
    expect(verbose.text.split('\n')).toEqual([
      '▸ hook codegen web',
      '  [web hook codegen] generated 3 files',
      '✓ hook codegen web 120ms',
      '· hook migrate skipped (no running container of web)',
      '',
    ]);
  });
});
