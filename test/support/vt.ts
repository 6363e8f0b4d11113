/**
 * A tiny terminal for renderer tests: applies the few control sequences the live view writes (CR, LF,
 * cursor up, erase below, cursor show/hide, SGR colours) and keeps every row written, so a test can
 * read the screen as a user would see it after each event. Unknown sequences fail the test.
 */
export class VirtualTerminal {
  readonly rows: string[] = [''];
  private row = 0;
  private col = 0;
  cursorHidden = false;

  write(chunk: string, callback?: () => void): boolean {
    for (let i = 0; i < chunk.length; ) {
      const char = chunk[i]!;
      if (char === '\u001b') {
        const match = /^\u001b\[(\??)(\d*)([A-Za-z])/.exec(chunk.slice(i));
        if (!match) throw new Error(`unexpected escape sequence at ${JSON.stringify(chunk.slice(i, i + 10))}`);
        this.control(match[1]!, match[2]!, match[3]!);
        i += match[0].length;
        continue;
      }
      if (char === '\r') this.col = 0;
      else if (char === '\n') {
        this.row += 1;
        this.col = 0;
        while (this.rows.length <= this.row) this.rows.push('');
      } else {
        const line = this.rows[this.row]!.padEnd(this.col);
        this.rows[this.row] = line.slice(0, this.col) + char + line.slice(this.col + 1);
        this.col += 1;
      }
      i += 1;
    }
    callback?.();
    return true;
  }

  private control(private_: string, arg: string, final: string): void {
    if (private_ === '?' && arg === '25') {
      this.cursorHidden = final === 'l';
      return;
    }
    if (final === 'm') return; // colours
    if (final === 'A') {
      this.row = Math.max(0, this.row - Number(arg || 1));
      return;
    }
    if (final === 'J') {
      this.rows[this.row] = this.rows[this.row]!.slice(0, this.col);
      this.rows.splice(this.row + 1);
      return;
    }
    throw new Error(`unexpected control sequence ${final} (${arg})`);
  }

  /** The text as shown, without trailing empty rows. */
  screen(): string[] {
    const rows = [...this.rows];
    while (rows.length > 0 && rows.at(-1) === '') rows.pop();
    return rows;
  }
}
