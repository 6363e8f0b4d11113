/** Temp folders for tests: created under the OS temp dir, removed by `removeTemps()` (call it in afterEach/afterAll). */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const temps: string[] = [];

/** A new empty temp folder named `<prefix>XXXXXX`, registered for `removeTemps()`. */
export async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
}

/** Writes `files` (relative path → content) under `dir`, creating parent folders. */
export async function writeTree(dir: string, files: Record<string, string>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
  }
}

/** A new temp folder holding `files`. */
export async function tempTree(prefix: string, files: Record<string, string> = {}): Promise<string> {
  const dir = await tempDir(prefix);
  await writeTree(dir, files);
  return dir;
}

/** Removes every temp folder created since the last call. */
export async function removeTemps(): Promise<void> {
  await Promise.all(temps.splice(0).map((d) => rm(d, { recursive: true, force: true })));
}
