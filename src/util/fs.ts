import { readFileSync } from 'node:fs';

/** A file's text, or '' when it cannot be read (absent, a folder, no permission): for optional files such as ignore files. */
export function readTextSync(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
