import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The union's members in order, each with the one-line doc comment written above it. */
async function unionCodes(): Promise<{ code: string; doc: string | undefined }[]> {
  const text = await readFile(join(root, 'src/errors/codes.ts'), 'utf8');
  const body = text.slice(text.indexOf('export type ErrorCode'));
  const out: { code: string; doc: string | undefined }[] = [];
  let doc: string | undefined;
  for (const line of body.split('\n')) {
    const comment = /^\s*\/\*\*\s*(.*?)\s*\*\/\s*$/.exec(line);
    if (comment) {
      doc = comment[1];
      continue;
    }
    const member = /^\s*(?:=\s*)?\|?\s*'([^']+)'/.exec(line);
    if (member) {
      out.push({ code: member[1]!, doc });
      doc = undefined;
    } else if (!/^\s*(\/\/.*)?$/.test(line) && !line.startsWith('export type')) {
      throw new Error(`src/errors/codes.ts: unexpected line in ErrorCode: ${line}`);
    }
  }
  return out;
}

/** The lines of README section `heading`, up to the next heading of the same or a higher level. */
function section(readme: string, heading: string): string[] {
  const lines = readme.split('\n');
  const start = lines.indexOf(heading);
  if (start < 0) throw new Error(`README has no "${heading}"`);
  const level = heading.indexOf(' ');
  const end = lines.findIndex((l, i) => i > start && new RegExp(`^#{1,${level}} `).test(l));
  return lines.slice(start + 1, end < 0 ? undefined : end);
}

/** A table row's cells (without the outer pipes); undefined for other lines and separator rows. */
function cells(line: string): string[] | undefined {
  if (!line.startsWith('|') || /^\|[\s|:-]+\|$/.test(line)) return undefined;
  return line.slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim());
}

const CODE = /`([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|[A-Z]{4,})`/g;

describe('ErrorCode and the README', () => {
  test('every member of the union has a one-line doc comment and is unique', async () => {
    const codes = await unionCodes();
    expect(codes.length).toBeGreaterThan(100);
    expect(codes.filter((c) => !c.doc).map((c) => c.code)).toEqual([]);
    expect(codes.map((c) => c.code).filter((c, i, all) => all.indexOf(c) !== i)).toEqual([]);
  });

  test('the README error reference lists every code exactly once, with its doc comment', async () => {
    const codes = await unionCodes();
    const readme = await readFile(join(root, 'README.md'), 'utf8');
    const rows = section(readme, '### Error codes')
      .map(cells)
      .filter((row): row is string[] => row !== undefined && row[0] !== 'code');
    // every data row names exactly one code in its first cell
    expect(rows.filter((row) => !/^`[A-Z0-9_]+`$/.test(row[0]!)).map((row) => row.join(' | '))).toEqual([]);
    const listed = rows.map((row) => row[0]!.slice(1, -1));
    expect(listed.filter((c, i) => listed.indexOf(c) !== i), 'listed twice').toEqual([]);
    const union = codes.map((c) => c.code);
    expect(union.filter((c) => !listed.includes(c)), 'in the union, missing from the README').toEqual([]);
    expect(listed.filter((c) => !union.includes(c)), 'in the README, not in the union').toEqual([]);
    const docs = new Map(codes.map((c) => [c.code, c.doc]));
    expect(rows.filter((row) => row[1] !== docs.get(row[0]!.slice(1, -1))).map((row) => row[0]), 'text differs from the doc comment').toEqual([]);
  });

  test('the per-section error tables name only codes of the union', async () => {
    const union = new Set((await unionCodes()).map((c) => c.code));
    const readme = await readFile(join(root, 'README.md'), 'utf8');
    const headings = readme.split('\n').filter((l) => /^#{3,4} Errors$/.test(l));
    expect(headings.length).toBeGreaterThan(0);
    const named: string[] = [];
    // Several sections share the heading: walk each occurrence.
    let rest = readme;
    for (const heading of headings) {
      const at = rest.indexOf(`\n${heading}\n`);
      rest = rest.slice(at + 1);
      for (const row of section(rest, heading).map(cells)) {
        if (row) named.push(...[...row[0]!.matchAll(CODE)].map((m) => m[1]!));
      }
      rest = rest.slice(heading.length);
    }
    expect(named.length).toBeGreaterThan(20);
    expect(named.filter((c) => !union.has(c))).toEqual([]);
  });

  test('every code is used somewhere in src/', async () => {
    const sources: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) await walk(path);
        else if (entry.name.endsWith('.ts') && !path.endsWith(join('errors', 'codes.ts'))) sources.push(await readFile(path, 'utf8'));
      }
    };
    await walk(join(root, 'src'));
    const all = sources.join('\n');
    expect((await unionCodes()).map((c) => c.code).filter((c) => !all.includes(`'${c}'`))).toEqual([]);
  });
});
