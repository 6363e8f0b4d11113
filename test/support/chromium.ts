/**
 * A small Chrome DevTools Protocol client for browser tests: Debian's headless chromium driven over
 * `--remote-debugging-pipe` (fd 3 in, fd 4 out, NUL-terminated JSON), so no WebSocket and no new
 * dependency. Enough for: open a page, evaluate, wait for a condition, type, take a screenshot.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { servicesRequired } from './services.js';

export const CHROMIUM = process.env.DEVLOOP_TEST_CHROMIUM || '/usr/bin/chromium';

/** Whether the browser tests can run; a missing chromium fails them under DEVLOOP_TEST_REQUIRE_SERVICES=1 (CI installs it). */
export function chromiumPresent(): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (servicesRequired) throw new Error(`DEVLOOP_TEST_REQUIRE_SERVICES=1 but missing: chromium (${CHROMIUM})`);
  return false;
}

/** An expression giving the text of each cell of the table row matching `selector` (null while there is none). */
export function rowCells(selector: string): string {
  return `(() => { const row = document.querySelector(${JSON.stringify(selector)}); return row && [...row.cells].map((c) => c.textContent); })()`;
}

type Params = Record<string, unknown>;
interface Message {
  id?: number;
  method?: string;
  params?: Params;
  result?: Params;
  error?: { message: string };
  sessionId?: string;
}

export interface Page {
  navigate(url: string): Promise<void>;
  /** The value of a JavaScript expression in the page (awaited when it is a promise). */
  evaluate<T>(expression: string): Promise<T>;
  /** Polls `expression` every 100 ms until it is truthy; returns its value. */
  waitFor<T>(expression: string, timeoutMs: number, what?: string): Promise<T>;
  /** Focuses the element matching `selector` and types `text` into it as keyboard input would. */
  type(selector: string, text: string): Promise<void>;
  screenshot(): Promise<Buffer>;
}

export interface Browser {
  page: Page;
  close(): Promise<void>;
}

export async function launchChromium(options: { width?: number; height?: number } = {}): Promise<Browser> {
  const profile = await mkdtemp(join(tmpdir(), 'devloop-chromium-'));
  const child: ChildProcess = spawn(
    CHROMIUM,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--remote-debugging-pipe',
      `--user-data-dir=${profile}`,
      'about:blank',
    ],
    { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => void (stderr = (stderr + chunk.toString()).slice(-4000)));
  const input = child.stdio[3] as Writable;
  const output = child.stdio[4] as Readable;

  let nextId = 0;
  const calls = new Map<number, { resolve: (result: Params) => void; reject: (error: Error) => void; method: string }>();
  const listeners = new Set<(message: Message) => void>();
  let buffer = '';
  output.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    for (let end = buffer.indexOf('\0'); end !== -1; end = buffer.indexOf('\0')) {
      const message = JSON.parse(buffer.slice(0, end)) as Message;
      buffer = buffer.slice(end + 1);
      if (message.id !== undefined) {
        const call = calls.get(message.id);
        calls.delete(message.id);
        if (message.error) call?.reject(new Error(`${call.method}: ${message.error.message}`));
        else call?.resolve(message.result ?? {});
      } else for (const listener of listeners) listener(message);
    }
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => {
    for (const call of calls.values()) call.reject(new Error(`chromium exited during ${call.method}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
    calls.clear();
  });

  const send = (method: string, params: Params = {}, sessionId?: string): Promise<Params> =>
    new Promise((resolve, reject) => {
      const id = ++nextId;
      calls.set(id, { resolve, reject, method });
      input.write(`${JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) })}\0`);
    });
  const nextEvent = (method: string, sessionId: string, timeoutMs: number): Promise<Params> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        listeners.delete(listener);
        reject(new Error(`no ${method} within ${timeoutMs}ms`));
      }, timeoutMs);
      const listener = (message: Message): void => {
        if (message.method !== method || message.sessionId !== sessionId) return;
        clearTimeout(timer);
        listeners.delete(listener);
        resolve(message.params ?? {});
      };
      listeners.add(listener);
    });

  const { targetId } = (await send('Target.createTarget', { url: 'about:blank' })) as { targetId: string };
  const { sessionId } = (await send('Target.attachToTarget', { targetId, flatten: true })) as { sessionId: string };
  const call = (method: string, params: Params = {}): Promise<Params> => send(method, params, sessionId);
  await call('Page.enable');
  await call('Runtime.enable');
  await call('Emulation.setDeviceMetricsOverride', { width: options.width ?? 1280, height: options.height ?? 1000, deviceScaleFactor: 1, mobile: false });

  const evaluate = async <T>(expression: string): Promise<T> => {
    const answer = (await call('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true })) as {
      result: { value?: T };
      exceptionDetails?: { text: string; exception?: { description?: string } };
    };
    if (answer.exceptionDetails) throw new Error(`${expression}: ${answer.exceptionDetails.exception?.description ?? answer.exceptionDetails.text}`);
    return answer.result.value as T;
  };

  const page: Page = {
    async navigate(url) {
      const loaded = nextEvent('Page.loadEventFired', sessionId, 15_000);
      const { errorText } = (await call('Page.navigate', { url })) as { errorText?: string };
      if (errorText) throw new Error(`navigating to ${url}: ${errorText}`);
      await loaded;
    },
    evaluate,
    async waitFor<T>(expression: string, timeoutMs: number, what = expression): Promise<T> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const value = await evaluate<T>(expression);
        if (value) return value;
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async type(selector, text) {
      await evaluate(`document.querySelector(${JSON.stringify(selector)}).focus()`);
      await call('Input.insertText', { text });
    },
    async screenshot() {
      const { data } = (await call('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true })) as { data: string };
      return Buffer.from(data, 'base64');
    },
  };

  return {
    page,
    async close() {
      if (child.exitCode === null) {
        await send('Browser.close').catch(() => undefined);
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(profile, { recursive: true, force: true });
    },
  };
}
