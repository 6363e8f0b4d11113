import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

/**
 * Bytes to upload, readable in ranges so large blobs go up in chunks without holding them in
 * memory, and so a failed upload can start again from the beginning.
 */
export interface BlobSource {
  digest: string;
  size: number;
  /** Bytes [start, end). */
  read(start: number, end: number): Promise<Uint8Array>;
}

export function sha256Digest(bytes: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export function blobFromBytes(bytes: Uint8Array): BlobSource {
  return {
    digest: sha256Digest(bytes),
    size: bytes.byteLength,
    read: async (start, end) => bytes.subarray(start, end),
  };
}

/** A blob stored in a file whose digest and size are already known (e.g. the layer cache). */
export function blobFromFile(file: string, digest: string, size: number): BlobSource {
  return {
    digest,
    size,
    read: async (start, end) => {
      const handle = await open(file, 'r');
      try {
        const buffer = Buffer.alloc(end - start);
        let done = 0;
        while (done < buffer.length) {
          const { bytesRead } = await handle.read(buffer, done, buffer.length - done, start + done);
          if (bytesRead === 0) break;
          done += bytesRead;
        }
        return buffer.subarray(0, done);
      } finally {
        await handle.close();
      }
    },
  };
}
