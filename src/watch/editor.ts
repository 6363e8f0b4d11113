/**
 * Editors save atomically through temp files (vim's `4913` probe and `.swp`/`~` backups, emacs
 * `.#lock` links, JetBrains `___jb_tmp___`, `*.tmp` renames). Those names never trigger anything;
 * the final rename onto the real file does.
 */
const SUFFIXES = ['.swp', '.swx', '.swo', '~', '.tmp', '___jb_tmp___', '___jb_old___', '.crswap', '.kate-swp'];

export function isEditorTempFile(name: string): boolean {
  if (name === '4913' || name.startsWith('.#') || name.startsWith('.~lock.') || name === '.DS_Store') return true;
  if (/^#.*#$/.test(name)) return true; // emacs auto-save
  return SUFFIXES.some((suffix) => name.endsWith(suffix));
}
