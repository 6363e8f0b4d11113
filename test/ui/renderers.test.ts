import { describe, expect, test } from 'vitest';
import { EventBus } from '../../src/events/bus.js';
import type { DevloopEvent, DevloopEventBody } from '../../src/events/types.js';
import { JsonRenderer } from '../../src/ui/json.js';
import { TerminalRenderer } from '../../src/ui/terminal.js';
import { formatMs, shouldUseColor, type Output } from '../../src/ui/output.js';

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
  return { err, out, renderer: new TerminalRenderer(err, out, { color, verbose: false }) };
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
      { type: 'artifact', image: 'hello', tag: '127.0.0.1:5000/hello:abc@sha256:1', cached: false, ...at('2025-01-01T00:00:03.800Z') },
      { type: 'stage', stage: 'apply', status: 'end', durationMs: 300, ...at('2025-01-01T00:00:04.200Z') },
    ];
    for (const event of events) renderer.render(event);
    await renderer.close();
    expect(err.text.split('\n')).toEqual([
      '▸ compile hello',
      '✓ compile hello 1.2s',
      '✓ build hello 2.0s',
      '✓ build quote 2.0s',
      '· push quote skipped (cached)',
      '  hello → 127.0.0.1:5000/hello:abc@sha256:1',
      '✓ apply 300ms',
      '✓ done in 4.2s — compile 1.2s · build 2.5s · apply 300ms',
      '',
    ]);
    expect(out.text).toBe('');
  });

  test('an iteration ends with its own summary line; failures say so', async () => {
    const { err, renderer } = terminal();
    renderer.render({ type: 'iteration', n: 2, status: 'start', changed: ['a.go', 'b.go', 'c.go', 'd.go'], ...at('2025-01-01T00:00:00.000Z') });
    renderer.render({ type: 'stage', stage: 'sync', artifact: 'hello', status: 'end', durationMs: 40, ...at('2025-01-01T00:00:00.040Z') });
    renderer.render({ type: 'iteration', n: 2, status: 'ok', durationMs: 90, ...at('2025-01-01T00:00:00.090Z') });
    renderer.render({ type: 'stage', stage: 'build', artifact: 'hello', status: 'error', durationMs: 500, ...at('2025-01-01T00:00:01.000Z') });
    renderer.render({ type: 'error', code: 'DOCKER_BUILD_FAILED', message: 'docker build failed', hint: 'see the log above', artifact: 'hello', stage: 'build', ...at('2025-01-01T00:00:01.000Z') });
    renderer.render({ type: 'iteration', n: 3, status: 'error', durationMs: 600, stages: [{ stage: 'build', durationMs: 500 }], reason: 'build failed', ...at('2025-01-01T00:00:01.000Z') });
    await renderer.close();
    expect(err.text.split('\n')).toEqual([
      '── iteration 2 (a.go, b.go, c.go +1 more)',
      '✓ sync hello 40ms',
      '✓ iteration 2 ok in 90ms — sync 40ms',
      '✗ build hello failed after 500ms',
      'error: hello build: docker build failed',
      '  hint: see the log above',
      '✗ iteration 3 failed after 600ms — build 500ms — build failed',
      '',
    ]);
  });

  test('pod logs and forwards: logs on stdout with a pod prefix, forwards on stderr', async () => {
    const { err, out, renderer } = terminal();
    renderer.render({ type: 'log', pod: 'hello-abc', container: 'hello', line: 'GET /', ...at('2025-01-01T00:00:00.000Z') });
    renderer.render({ type: 'forward', resource: 'service/hello', port: 80, localPort: 8080, address: '127.0.0.1', status: 'ready', ...at('2025-01-01T00:00:00.000Z') });
    renderer.render({ type: 'notice', level: 'warn', message: 'port 8080 busy, using 8081', ...at('2025-01-01T00:00:00.000Z') });
    await renderer.close();
    expect(out.text).toBe('[hello-abc/hello] GET /\n');
    expect(err.text).toBe('⇄ service/hello:80 → http://127.0.0.1:8080\n! port 8080 busy, using 8081\n');
  });

  test('colour codes only when colour is on', async () => {
    const event: DevloopEvent = { type: 'stage', stage: 'build', artifact: 'a', status: 'end', durationMs: 5, time: '2025-01-01T00:00:00.000Z' };
    const plain = terminal(false);
    plain.renderer.render(event);
    expect(plain.err.text).not.toContain(ESC);
    const coloured = terminal(true);
    coloured.renderer.render(event);
    expect(coloured.err.text).toContain(`${ESC}32m✓${ESC}39m`);
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
  test('a hook stage shows its name (and artifact); its output lines are prefixed with artifact, stage and name', () => {
    const { err, renderer } = terminal();
    const events: DevloopEventBody[] = [
      { type: 'stage', stage: 'hook', hook: 'codegen', artifact: 'web', status: 'start' },
      { type: 'log', artifact: 'web', stage: 'hook', hook: 'codegen', stream: 'stdout', line: 'generated 3 files' },
      { type: 'stage', stage: 'hook', hook: 'codegen', artifact: 'web', status: 'end', durationMs: 120 },
      { type: 'stage', stage: 'hook', hook: 'migrate', status: 'skipped', detail: 'no running container of web' },
    ];
    for (const body of events) renderer.render({ ...body, ...at('2025-06-01T10:00:00.000Z') } as DevloopEvent);
    expect(err.text.split('\n')).toEqual([
      '▸ hook codegen web',
      '  [web hook codegen] generated 3 files',
      '✓ hook codegen web 120ms',
      '· hook migrate skipped (no running container of web)',
      '',
    ]);
  });
});
