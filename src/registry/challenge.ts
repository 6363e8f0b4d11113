/** A parsed `WWW-Authenticate` header: `Basic realm="…"` or `Bearer realm="…",service="…",scope="…"`. */
export interface AuthChallenge {
  scheme: 'basic' | 'bearer';
  params: Record<string, string>;
}

/** Parses the first Basic or Bearer challenge; undefined for anything else. Pure. */
export function parseChallenge(header: string | null): AuthChallenge | undefined {
  if (!header) return undefined;
  const match = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!match) return undefined;
  const scheme = match[1]!.toLowerCase();
  if (scheme !== 'basic' && scheme !== 'bearer') return undefined;
  const params: Record<string, string> = {};
  const pattern = /(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?/g;
  for (let m = pattern.exec(match[2]!); m; m = pattern.exec(match[2]!)) {
    params[m[1]!.toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!;
  }
  return { scheme, params };
}
