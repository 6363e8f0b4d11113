/**
 * Issue 14 case 4: two documents for the same object (two ConfigMaps `cm-dup`) were both applied and
 * the run exited 0, with the winner changing between runs. Render (before any apply) must refuse them
 * and name both files and lines.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { renderObjects, type ManifestObject } from '../../src/render/index.js';
import { parseManifests } from '../../src/render/parse.js';
import { DevloopError } from '../../src/errors.js';
import { devloop, ensureBuilt } from '../cli/helpers.js';
import { removeTemps, tempTree } from '../support/tmp.js';

const settings = { configName: 'app', images: [], imagePaths: [] };

function cm(name: string, namespace?: string, apiVersion = 'v1', kind = 'ConfigMap'): string {
  return `apiVersion: ${apiVersion}\nkind: ${kind}\nmetadata:\n  name: ${name}\n${namespace ? `  namespace: ${namespace}\n` : ''}data: {a: "1"}\n`;
}

function errorOf(objects: ManifestObject[], namespace?: string): DevloopError | undefined {
  try {
    renderObjects(objects, { ...settings, namespace });
  } catch (error) {
    if (error instanceof DevloopError) return error;
    throw error;
  }
  return undefined;
}

describe('duplicate objects', () => {
  beforeAll(ensureBuilt);
  afterAll(removeTemps);

  test('two files, same kind/name: both places are named', () => {
    const objects = [...parseManifests(cm('cm-dup'), 'k8s/a.yaml'), ...parseManifests(`${cm('other')}---\n${cm('cm-dup')}`, 'k8s/b.yaml')];
    const error = errorOf(objects, 'dev');
    expect(error?.code).toBe('MANIFEST_DUPLICATE');
    expect(error?.message).toBe('k8s/b.yaml:7 ConfigMap/cm-dup in namespace dev is also defined at k8s/a.yaml:1');
  });

  test('no namespace equals the deploy namespace written out; another namespace is another object', () => {
    const implicit = parseManifests(cm('cm-dup'), 'a.yaml');
    expect(errorOf([...implicit, ...parseManifests(cm('cm-dup', 'dev'), 'b.yaml')], 'dev')?.code).toBe('MANIFEST_DUPLICATE');
    expect(errorOf([...implicit, ...parseManifests(cm('cm-dup', 'prod'), 'b.yaml')], 'dev')).toBeUndefined();
    // Without a known deploy namespace (render alone), only like with like compares.
    expect(errorOf([...implicit, ...parseManifests(cm('cm-dup', 'dev'), 'b.yaml')])).toBeUndefined();
    expect(errorOf([...implicit, ...parseManifests(cm('cm-dup'), 'b.yaml')])?.code).toBe('MANIFEST_DUPLICATE');
  });

  test('identity is group + kind (any case, any version) + namespace + name', () => {
    const deploy = (apiVersion: string, kind = 'Deployment') => parseManifests(cm('web', undefined, apiVersion, kind), `${apiVersion}.yaml`);
    expect(errorOf([...deploy('apps/v1'), ...deploy('apps/v1beta2')], 'dev')?.code).toBe('MANIFEST_DUPLICATE');
    expect(errorOf([...deploy('apps/v1'), ...deploy('Apps/v1', 'deployment')], 'dev')?.code).toBe('MANIFEST_DUPLICATE');
    expect(errorOf([...deploy('apps/v1'), ...deploy('example.com/v1')], 'dev')).toBeUndefined();
    expect(errorOf([...deploy('apps/v1'), ...deploy('apps/v1', 'StatefulSet')], 'dev')).toBeUndefined();
  });

  test('items of a List count too', () => {
    const list = `apiVersion: v1\nkind: List\nitems:\n  - {apiVersion: v1, kind: ConfigMap, metadata: {name: cm-dup}}\n`;
    const error = errorOf([...parseManifests(list, 'list.yaml'), ...parseManifests(cm('cm-dup'), 'cm.yaml')], 'dev');
    expect(error?.message).toBe('cm.yaml:1 ConfigMap/cm-dup in namespace dev is also defined at list.yaml:1');
  });

  test('the CLI fails (render, before any apply) naming both files', async () => {
    const dir = await tempTree('devloop-faults-dup-', {
      'devloop.yaml': 'apiVersion: devloop/v1\nkind: Config\nmetadata: {name: app}\nmanifests: [k8s/*.yaml]\ndeploy: {namespace: dev}\n',
      'k8s/a.yaml': cm('cm-dup'),
      'k8s/b.yaml': cm('cm-dup', 'dev'),
    });
    const result = await devloop(['render'], dir);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('error: render: k8s/b.yaml:1 ConfigMap/cm-dup in namespace dev is also defined at k8s/a.yaml:1');
    expect(result.stdout).toBe('');
  });
});
