/**
 * Driving a program in a real terminal: a tmux server of its own (private socket), one window of a
 * fixed size, keys sent with send-keys, the screen read with capture-pane. Plus a rendering of a
 * coloured capture to a PNG (an HTML page of the ANSI text, shot by headless Chromium) for the README.
 */
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromiumPresent, launchChromium } from './chromium.js';

export async function tmuxAvailable(): Promise<boolean> {
  return (await execa('tmux', ['-V'], { reject: false }).catch(() => ({ exitCode: 1 }))).exitCode === 0;
}

export interface Tmux {
  /** Keys as tmux names them (`q`, `Enter`, `C-c`). */
  send(...keys: string[]): Promise<void>;
  /** The visible screen, one string per row (trailing blank rows removed). */
  screen(): Promise<string[]>;
  /** Everything the pane printed, scrollback included. */
  history(): Promise<string[]>;
  /** The visible screen with its colour codes (capture-pane -e). */
  screenAnsi(): Promise<string>;
  /** Polls the screen (every 100 ms) until `check` holds; returns that screen, or throws with the last one. */
  waitFor(what: string, check: (rows: string[]) => boolean, timeoutMs: number): Promise<string[]>;
  kill(): Promise<void>;
}

/** Starts `command` (run by sh) in a new tmux server with a `columns`×`rows` window. */
export async function startTmux(command: string, columns = 120, rows = 40): Promise<Tmux> {
  const socket = `devloop-test-${randomBytes(4).toString('hex')}`;
  const tmux = (...args: string[]) => execa('tmux', ['-L', socket, '-f', '/dev/null', ...args]);
  await tmux('new-session', '-d', '-s', 'main', '-x', String(columns), '-y', String(rows), command);
  await tmux('set-option', '-t', 'main', 'history-limit', '20000');
  const rowsOf = (text: string): string[] => {
    const lines = text.split('\n');
    while (lines.length > 0 && lines.at(-1)!.trim() === '') lines.pop();
    return lines.map((line) => line.replace(/\s+$/, ''));
  };
  const session: Tmux = {
    async send(...keys) {
      await tmux('send-keys', '-t', 'main', ...keys);
    },
    async screen() {
      return rowsOf((await tmux('capture-pane', '-p', '-t', 'main')).stdout);
    },
    async history() {
      return rowsOf((await tmux('capture-pane', '-p', '-J', '-S', '-', '-t', 'main')).stdout);
    },
    async screenAnsi() {
      return (await tmux('capture-pane', '-p', '-e', '-t', 'main')).stdout;
    },
    async waitFor(what, check, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      let last: string[] = [];
      for (;;) {
        last = await session.screen();
        if (check(last)) return last;
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}; the screen:\n${last.join('\n')}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async kill() {
      await tmux('kill-server').catch(() => undefined);
    },
  };
  return session;
}

const COLOURS: Record<number, string> = {
  30: '#1e1e1e', 31: '#e05561', 32: '#8cc265', 33: '#d18f52', 34: '#4aa5f0', 35: '#c162de', 36: '#42b3c2', 37: '#d7dae0',
  90: '#5c6370', 91: '#ff616e', 92: '#a5e075', 93: '#f0a45d', 94: '#4dc4ff', 95: '#de73ff', 96: '#4cd1e0', 97: '#e6e6e6',
};

const escapeHtml = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** An HTML page showing ANSI text (SGR colours, bold, dim) as a dark terminal would. */
export function ansiToHtml(ansi: string, title: string): string {
  let fg: string | undefined;
  let bold = false;
  let dim = false;
  let html = '';
  for (const part of ansi.split(/(\u001b\[[0-9;]*m)/)) {
    const sgr = /^\u001b\[([0-9;]*)m$/.exec(part);
    if (!sgr) {
      if (!part) continue;
      const style = [fg ? `color:${fg}` : '', bold ? 'font-weight:bold' : '', dim ? 'opacity:0.6' : ''].filter(Boolean).join(';');
      html += style ? `<span style="${style}">${escapeHtml(part)}</span>` : escapeHtml(part);
      continue;
    }
    const codes = (sgr[1] || '0').split(';').map(Number);
    for (let i = 0; i < codes.length; i++) {
      const code = codes[i]!;
      if (code === 0) [fg, bold, dim] = [undefined, false, false];
      else if (code === 1) bold = true;
      else if (code === 2) dim = true;
      else if (code === 22) [bold, dim] = [false, false];
      else if (code === 39) fg = undefined;
      else if (COLOURS[code]) fg = COLOURS[code];
      else if (code === 38 && codes[i + 1] === 5) i += 2; // 256 colours: not used by devloop
    }
  }
  return `<!doctype html><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{margin:0;background:#282c34}pre{margin:0;padding:14px 18px;color:#d7dae0;font:14px/1.35 "DejaVu Sans Mono","Liberation Mono",monospace;white-space:pre}</style>
<pre>${html}</pre>`;
}

/** Renders the ANSI text to PNG bytes in headless Chromium (the browser tests' CDP client); undefined without Chromium. */
export async function screenshotAnsi(ansi: string, size: { width: number; height: number }): Promise<Buffer | undefined> {
  if (!chromiumPresent()) return undefined;
  const dir = await mkdtemp(join(tmpdir(), 'devloop-shot-'));
  const browser = await launchChromium(size);
  try {
    const page = join(dir, 'terminal.html');
    await writeFile(page, ansiToHtml(ansi, 'devloop dev'));
    await browser.page.navigate(`file://${page}`);
    return await browser.page.screenshot();
  } finally {
    await browser.close();
    await rm(dir, { recursive: true, force: true });
  }
}
