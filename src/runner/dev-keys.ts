/**
 * Keyboard control of `devloop dev`: on a TTY single keys (r rebuild all, s status, q quit, Enter
 * runs pending changes with --trigger manual); without a TTY the same commands as lines on stdin.
 * Raw mode swallows Ctrl-C, so it is turned back into SIGINT for the usual cleanup path.
 */
export type KeyCommand = 'rebuild' | 'status' | 'quit' | 'trigger';

const COMMANDS: Record<string, KeyCommand> = { r: 'rebuild', s: 'status', q: 'quit', '': 'trigger' };

export function listenForKeys(onCommand: (command: KeyCommand) => void): () => void {
  const stdin = process.stdin;
  const tty = Boolean(stdin.isTTY);
  const map = (key: string): KeyCommand | undefined => COMMANDS[key];
  let buffer = '';
  const onData = (chunk: Buffer | string): void => {
    const text = chunk.toString();
    if (tty) {
      for (const char of text) {
        if (char === '\u0003') process.kill(process.pid, 'SIGINT');
        else if (char === '\r' || char === '\n') onCommand('trigger');
        else {
          const command = map(char.toLowerCase());
          if (command) onCommand(command);
        }
      }
      return;
    }
    buffer += text;
    let newline: number;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline).trim().toLowerCase();
      buffer = buffer.slice(newline + 1);
      const command = map(line);
      if (command) onCommand(command);
    }
  };
  if (tty) stdin.setRawMode(true);
  stdin.on('data', onData);
  stdin.on('error', () => undefined);
  stdin.resume();
  return () => {
    stdin.off('data', onData);
    if (tty) stdin.setRawMode(false);
    stdin.pause();
  };
}
