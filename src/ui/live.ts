/**
 * The bottom of a terminal that is redrawn in place: running stages and the status block. Everything
 * else is printed above it for good. Each line is cut to the terminal's width, so a line is one row
 * and erasing is "cursor up N rows, clear to the end of the screen".
 */
const ESC = '\u001b[';
const SGR = /\u001b\[[0-9;]*m/y;

const HIDE_CURSOR = `${ESC}?25l`;
export const SHOW_CURSOR = `${ESC}?25h`;

/**
 * Text from elsewhere (pod logs, tool output) made safe to print above the live lines: only colour
 * codes stay; cursor movement, erasing, carriage returns and other control characters would move the
 * rows the live lines are counted in.
 */
export function printable(text: string): string {
  return text
    .replace(/\u001b\][^\u0007\u001b]*(\u0007|\u001b\\)?/g, '') // OSC (titles, links)
    .replace(/\u001b\[[0-9;?]*[A-Za-ln-z@`]/g, '') // CSI other than colours
    .replace(/\u001b[^[]/g, '')
    .replace(/\t/g, '  ')
    .replace(/[\u0000-\u0008\u000a-\u001a\u001c-\u001f\u007f]/g, '');
}

/** `text` without its SGR colour codes. */
export function withoutColour(text: string): string {
  return text.replace(/\u001b\[[0-9;]*m/g, '');
}

/** Visible length of `text` (SGR colour codes take no room). */
function visibleLength(text: string): number {
  return [...withoutColour(text)].length;
}

/** Cuts `text` to `width` visible characters (an ellipsis marks the cut), keeping colour codes intact. */
export function fit(text: string, width: number): string {
  if (width <= 0) return '';
  if (visibleLength(text) <= width) return text;
  let out = '';
  let shown = 0;
  let coloured = false;
  for (let i = 0; i < text.length; ) {
    SGR.lastIndex = i;
    const code = SGR.exec(text);
    if (code) {
      out += code[0];
      coloured = true;
      i += code[0].length;
      continue;
    }
    const char = String.fromCodePoint(text.codePointAt(i)!);
    if (shown === width - 1) {
      out += '…';
      break;
    }
    out += char;
    shown += 1;
    i += char.length;
  }
  return coloured ? `${out}${ESC}0m` : out;
}

export class LiveArea {
  /** Visible lengths of the lines drawn now (to count rows again after a resize). */
  private drawn: number[] = [];
  private cursorHidden = false;

  constructor(private readonly columns: () => number) {}

  get empty(): boolean {
    return this.drawn.length === 0;
  }

  /** Text that removes the drawn lines, leaving the cursor where the first of them began. */
  erase(): string {
    if (this.drawn.length === 0) return '';
    const width = Math.max(1, this.columns());
    const rows = this.drawn.reduce((sum, length) => sum + Math.max(1, Math.ceil(length / width)), 0);
    this.drawn = [];
    return `\r${ESC}${rows}A${ESC}J`;
  }

  /** Text that draws `lines` (after erase()), each cut to the width. */
  draw(lines: readonly string[]): string {
    const width = Math.max(1, this.columns() - 1); // the last column would make some terminals wrap
    const cut = lines.map((line) => fit(line, width));
    this.drawn = cut.map(visibleLength);
    let prefix = '';
    if (cut.length > 0 && !this.cursorHidden) {
      this.cursorHidden = true;
      prefix = HIDE_CURSOR;
    }
    return prefix + cut.map((line) => `${line}\n`).join('');
  }

  /** Text that gives the cursor back (at the end). */
  release(): string {
    if (!this.cursorHidden) return '';
    this.cursorHidden = false;
    return SHOW_CURSOR;
  }
}
