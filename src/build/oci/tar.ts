/**
 * A deterministic tar writer (POSIX ustar, PAX records only for names that do not fit). Everything
 * that could vary between machines is fixed: owner 0:0 with empty names, one mtime, no device
 * numbers, no atime/ctime, no trailing record padding beyond the two end blocks.
 */

export interface TarEntry {
  /** Path in the image without a leading "/", e.g. "app/server.js"; directories without a trailing "/". */
  path: string;
  type: 'file' | 'directory' | 'symlink';
  mode: number;
  /** Bytes of a file's content (header only; the content itself is streamed by the caller). */
  size: number;
  linkname?: string;
}

const BLOCK = 512;

/** Header block(s) for `entry` with modification time `mtime` (seconds since the epoch). */
export function tarHeader(entry: TarEntry, mtime: number): Buffer {
  const name = entry.type === 'directory' ? `${entry.path}/` : entry.path;
  const linkname = entry.linkname ?? '';
  const size = entry.type === 'file' ? entry.size : 0;
  const fitted = fitUstarName(name);
  const linkFits = Buffer.byteLength(linkname) <= 100;
  if (fitted && linkFits) return ustarBlock({ ...fitted, linkname, entry, size, mtime });

  // Long paths: a PAX extended header carries the full name; the ustar header gets a truncated one.
  const records: string[] = [];
  if (!fitted) records.push(paxRecord('path', name));
  if (!linkFits) records.push(paxRecord('linkpath', linkname));
  const pax = Buffer.from(records.join(''), 'utf8');
  const paxHeader = ustarBlock({
    name: truncateBytes(`PaxHeaders/${name}`, 100),
    prefix: '',
    linkname: '',
    entry: { path: '', type: 'file', mode: 0o644, size: pax.length },
    size: pax.length,
    mtime,
    typeflag: 'x',
  });
  const main = ustarBlock({
    name: fitted?.name ?? truncateBytes(name, 100),
    prefix: fitted?.prefix ?? '',
    linkname: truncateBytes(linkname, 100),
    entry,
    size,
    mtime,
  });
  return Buffer.concat([paxHeader, pax, padding(pax.length), main]);
}

/** Zero bytes that round `size` up to a whole block. */
export function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : BLOCK - rest);
}

/** The end-of-archive marker: two zero blocks. */
export function tarTrailer(): Buffer {
  return Buffer.alloc(2 * BLOCK);
}

function ustarBlock(fields: {
  name: string;
  prefix: string;
  linkname: string;
  entry: TarEntry;
  size: number;
  mtime: number;
  typeflag?: string;
}): Buffer {
  const block = Buffer.alloc(BLOCK);
  const typeflag = fields.typeflag ?? { file: '0', directory: '5', symlink: '2' }[fields.entry.type];
  block.write(fields.name, 0, 100, 'utf8');
  writeOctal(block, fields.entry.mode & 0o7777, 100, 8);
  writeOctal(block, 0, 108, 8); // uid
  writeOctal(block, 0, 116, 8); // gid
  writeOctal(block, fields.size, 124, 12);
  writeOctal(block, fields.mtime, 136, 12);
  block.fill(0x20, 148, 156); // checksum is computed with its own field as spaces
  block.write(typeflag, 156, 1, 'ascii');
  block.write(fields.linkname, 157, 100, 'utf8');
  block.write('ustar\u000000', 257, 8, 'ascii');
  // uname/gname stay empty; devmajor/devminor are written as zeros like GNU and Go do.
  writeOctal(block, 0, 329, 8);
  writeOctal(block, 0, 337, 8);
  block.write(fields.prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 8, 'ascii');
  return block;
}

function writeOctal(block: Buffer, value: number, offset: number, length: number): void {
  const text = value.toString(8);
  if (text.length > length - 1) throw new RangeError(`value ${value} does not fit a ${length}-byte tar field`);
  block.write(`${text.padStart(length - 1, '0')}\u0000`, offset, length, 'ascii');
}

/** Splits a name into ustar name (≤100 bytes) and prefix (≤155 bytes) at a "/", if possible. */
function fitUstarName(name: string): { name: string; prefix: string } | undefined {
  if (!isAscii(name)) return undefined; // non-ASCII names go to PAX so readers agree on the encoding
  if (name.length <= 100) return { name, prefix: '' };
  for (let i = name.indexOf('/'); i >= 0; i = name.indexOf('/', i + 1)) {
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (prefix.length <= 155 && rest.length <= 100 && rest.length > 0) return { name: rest, prefix };
  }
  return undefined;
}

function isAscii(text: string): boolean {
  return /^[\x20-\x7e]*$/.test(text);
}

/** A PAX record: "<length> <key>=<value>\n" where length counts the whole record, itself included. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyLength = Buffer.byteLength(body);
  let length = bodyLength + String(bodyLength).length;
  if (String(length).length !== String(bodyLength).length) length = bodyLength + String(length).length;
  return `${length}${body}`;
}

function truncateBytes(text: string, max: number): string {
  const bytes = Buffer.from(text, 'utf8');
  return bytes.length <= max ? text : bytes.subarray(0, max).toString('ascii').replace(/[^\x20-\x7e]/g, '_');
}
