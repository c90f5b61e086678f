import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  imagePath,
  registryAuth,
  resolveImageName,
  splitImageName,
} from '../../adapters/docker/docker-images';

describe('image names as Docker reads them', () => {
  const cases = [
    ['ubuntu', 'docker.io/library/ubuntu:latest'],
    ['ubuntu:22.04', 'docker.io/library/ubuntu:22.04'],
    ['eoscprominence/testpi', 'docker.io/eoscprominence/testpi:latest'],
    ['index.docker.io/org/tool:1', 'docker.io/org/tool:1'],
    ['ghcr.io/org/tool', 'ghcr.io/org/tool:latest'],
    ['localhost/flare-test/busybox', 'localhost/flare-test/busybox:latest'],
    ['registry.local:5000/tool:2.1', 'registry.local:5000/tool:2.1'],
    ['busybox@sha256:abc', 'docker.io/library/busybox@sha256:abc'],
  ] as const;

  for (const [given, resolved] of cases) {
    it(`resolves ${given} to ${resolved}`, () => {
      assert.equal(resolveImageName(given), resolved);
    });
  }

  it('splits a resolved name into repository and tag or digest', () => {
    assert.deepEqual(splitImageName('registry.local:5000/tool:2.1'), {
      repository: 'registry.local:5000/tool',
      reference: '2.1',
    });
    assert.deepEqual(splitImageName('docker.io/library/busybox@sha256:abc'), {
      repository: 'docker.io/library/busybox',
      reference: 'sha256:abc',
    });
  });

  it('escapes each part of a name in a URL path but keeps its slashes', () => {
    assert.equal(imagePath('localhost/a b/c:1'), 'localhost/a%20b/c%3A1');
  });

  it('names Docker Hub by its index address in registry credentials', () => {
    // Act
    const header = registryAuth({ username: 'u', token: 't' }, 'docker.io/org/tool:1');
    const other = registryAuth({ username: 'u', token: 't' }, 'ghcr.io/org/tool:1');

    // Assess
    const decode = (value: string) => JSON.parse(Buffer.from(value, 'base64url').toString());
    assert.deepEqual(decode(header), {
      username: 'u',
      password: 't',
      serveraddress: 'https://index.docker.io/v1/',
    });
    assert.equal(decode(other).serveraddress, 'ghcr.io');
  });
});
