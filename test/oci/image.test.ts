import { describe, expect, it } from 'vitest';
import { buildImageConfig, buildManifest, canonicalBytes, parsePlatform, reproducibleEpoch, selectPlatform } from '../../src/build/oci/image.js';
import { layerCompression } from '../../src/build/oci/index.js';
import { DOCKER_LAYER_GZIP, DOCKER_MANIFEST, OCI_LAYER_GZIP, OCI_MANIFEST } from '../../src/registry/media-types.js';
import { ociArtifact } from '../support/oci-fixtures.js';

const layer = { digest: `sha256:${'a'.repeat(64)}`, diffId: `sha256:${'b'.repeat(64)}`, size: 10, createdBy: 'devloop layer dist → /app' };
const baseConfig = {
  architecture: 'amd64',
  os: 'linux',
  created: '2024-05-01T10:00:00Z',
  container: 'abc',
  config: { Env: ['PATH=/bin', 'LANG=C'], Cmd: ['sh'], ExposedPorts: { '22/tcp': {} }, Labels: { base: 'yes' } },
  rootfs: { type: 'layers' as const, diff_ids: [`sha256:${'c'.repeat(64)}`] },
  history: [{ created_by: 'base' }],
};

describe('image config and manifest', () => {
  it('applies the artifact settings over the base like a Dockerfile would', () => {
    const oci = ociArtifact('x', '/ctx', {
      entrypoint: ['/app/server'],
      env: { LANG: 'C.UTF-8', MODE: 'dev' },
      workdir: '/app',
      user: '1000',
      ports: [8080],
      labels: { app: 'x' },
    }).oci!;
    const config = buildImageConfig(baseConfig, oci, parsePlatform('linux/amd64'), [layer], 1);
    expect(config.created).toBe('1970-01-01T00:00:01Z');
    expect(config.container).toBeUndefined();
    expect(config.config).toEqual({
      Env: ['PATH=/bin', 'LANG=C.UTF-8', 'MODE=dev'],
      Entrypoint: ['/app/server'],
      Cmd: null, // a new entrypoint resets the base's CMD
      WorkingDir: '/app',
      User: '1000',
      ExposedPorts: { '22/tcp': {}, '8080/tcp': {} },
      Labels: { app: 'x', base: 'yes' },
    });
    expect(config.rootfs!.diff_ids).toEqual([baseConfig.rootfs.diff_ids[0], layer.diffId]);
    expect(config.history).toHaveLength(2);
  });

  it('is byte-identical for the same inputs and follows the base manifest family', () => {
    const oci = ociArtifact('x', '/ctx', { cmd: ['/hello'] }).oci!;
    const one = canonicalBytes(buildImageConfig(undefined, oci, parsePlatform('linux/arm64'), [layer], 1));
    const two = canonicalBytes(buildImageConfig(undefined, oci, parsePlatform('linux/arm64'), [layer], 1));
    expect(one.equals(two)).toBe(true);
    const cfg = { digest: `sha256:${'d'.repeat(64)}`, size: one.length };
    expect(buildManifest('oci', cfg, [], [layer])).toMatchObject({ mediaType: OCI_MANIFEST, layers: [{ mediaType: OCI_LAYER_GZIP }] });
    expect(buildManifest('docker', cfg, [], [layer])).toMatchObject({ mediaType: DOCKER_MANIFEST, layers: [{ mediaType: DOCKER_LAYER_GZIP }] });
    // Uncompressed layers (oci.compression none) get each family's plain tar type.
    const plain = { ...layer, compressed: false };
    expect(buildManifest('oci', cfg, [], [plain])).toMatchObject({ layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar' }] });
    expect(buildManifest('docker', cfg, [], [plain])).toMatchObject({ layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar' }] });
  });

  it('compression auto: plain tar for a loopback registry or an unpushed image, gzip at gzipLevel elsewhere', () => {
    const auto = { compression: 'auto' as const, gzipLevel: 6 };
    expect(layerCompression(auto, '127.0.0.1:5000/app', true)).toEqual({ kind: 'none' });
    expect(layerCompression(auto, 'localhost:5001/team/app', true)).toEqual({ kind: 'none' });
    expect(layerCompression(auto, 'registry.example.com/app', false)).toEqual({ kind: 'none' });
    expect(layerCompression(auto, 'registry.example.com/app', true)).toEqual({ kind: 'gzip', level: 6 });
    expect(layerCompression({ ...auto, gzipLevel: 1 }, 'app', true)).toEqual({ kind: 'gzip', level: 1 }); // Docker Hub
    expect(layerCompression({ compression: 'gzip', gzipLevel: 9 }, '127.0.0.1:5000/app', true)).toEqual({ kind: 'gzip', level: 9 });
    expect(layerCompression({ compression: 'none', gzipLevel: 6 }, 'registry.example.com/app', true)).toEqual({ kind: 'none' });
  });

  it('picks the platform from an index and names what is available otherwise', () => {
    const index = {
      schemaVersion: 2 as const,
      manifests: [
        { mediaType: OCI_MANIFEST, digest: 'sha256:amd', size: 1, platform: { os: 'linux', architecture: 'amd64' } },
        { mediaType: OCI_MANIFEST, digest: 'sha256:arm', size: 1, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      ],
    };
    expect(selectPlatform(index, parsePlatform('linux/arm64'), 'base').digest).toBe('sha256:arm');
    expect(selectPlatform(index, parsePlatform('linux/amd64'), 'base').digest).toBe('sha256:amd');
    expect(() => selectPlatform(index, parsePlatform('linux/s390x'), 'reg/base:1')).toThrow(/reg\/base:1 has no linux\/s390x variant \(available: linux\/amd64, linux\/arm64\/v8\)/);
  });

  it('reads SOURCE_DATE_EPOCH', () => {
    expect(reproducibleEpoch({})).toBe(1);
    expect(reproducibleEpoch({ SOURCE_DATE_EPOCH: '1700000000' })).toBe(1_700_000_000);
    expect(() => reproducibleEpoch({ SOURCE_DATE_EPOCH: 'yesterday' })).toThrow(/SOURCE_DATE_EPOCH/);
  });
});
