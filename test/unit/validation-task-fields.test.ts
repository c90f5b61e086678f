import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UnsupportedFeatureError, ValidationError } from '../../core/src/errors';
import { validateJobSpec } from '../../core/src/validation';
import {
  assertJobSpecRejected,
  buildJobSpecInput,
  buildResourcesInput,
  buildTaskInput,
  type InputOverrides,
} from '../helpers/job-builders';

const withTask = (overrides: InputOverrides) =>
  buildJobSpecInput({ tasks: [buildTaskInput(overrides)] });

describe('validateJobSpec: accepted task fields', () => {
  it('defaults the runtime to singularity as the clients do', () => {
    // Act
    const spec = validateJobSpec(withTask({ image: 'busybox', runtime: undefined }));

    // Assess
    assert.equal(spec.tasks[0]?.runtime, 'singularity');
  });

  for (const runtime of ['singularity', 'udocker', 'docker'] as const) {
    it(`keeps the runtime ${runtime} as given`, () => {
      // Act
      const spec = validateJobSpec(withTask({ image: 'busybox', runtime }));

      // Assess
      assert.equal(spec.tasks[0]?.runtime, runtime);
    });
  }

  for (const image of ['UPPER/Case', 'a b c', 'Busybox', 'x'.repeat(600), 'tool:', 'a//b']) {
    it(`refuses the image name ${image.slice(0, 20)} as not a valid name`, () => {
      assertJobSpecRejected(withTask({ image }), ValidationError, 'is not a valid image name');
    });
  }

  for (const image of [
    'busybox',
    'ubuntu:22.04',
    'ghcr.io/org/tool:1.2',
    'registry.local:5000/a/b_c-d:v1.0',
    `busybox@sha256:${'a'.repeat(64)}`,
  ]) {
    it(`accepts the image name ${image.slice(0, 30)}`, () => {
      assert.equal(validateJobSpec(withTask({ image })).tasks[0]?.image, image);
    });
  }

  const unsupportedImages = [
    ['shub://org/image', 'Singularity Hub images'],
    ['https://example.org/image.tar', 'images downloaded from a URL'],
    ['http://example.org/image.sif', 'images downloaded from a URL'],
    ['my-image.tgz', 'image files'],
    ['group/uploaded.sif', 'image files'],
    ['/cvmfs/images/tool.simg', 'images on mounted storage'],
  ] as const;

  for (const [image, form] of unsupportedImages) {
    it(`refuses ${image} as not supported yet`, () => {
      assertJobSpecRejected(withTask({ image }), UnsupportedFeatureError, form);
    });
  }

  it('returns a task with every supported field as given', () => {
    // Prepare
    const task = buildTaskInput({
      imagePullCredential: { username: 'me', token: 'secret' },
      env: { MODE: 'test', COUNT: 3, DEBUG: false, _private: '' },
      procsPerNode: 4,
      cmd: '',
      workdir: 'relative/dir',
      type: 'basic',
      imageSha256: 'ab12',
    });
    const resources = buildResourcesInput({ cpus: 4 });

    // Act
    const spec = validateJobSpec(buildJobSpecInput({ resources, tasks: [task] }));

    // Assess
    assert.deepEqual(spec.tasks, [task]);
  });

  it('allows procsPerNode above the cores when the cores are a range', () => {
    // Prepare
    const resources = buildResourcesInput({ cpus: undefined, cpusRange: [1, 2] });
    const tasks = [buildTaskInput({ procsPerNode: 8 })];

    // Act
    const spec = validateJobSpec(buildJobSpecInput({ resources, tasks }));

    // Assess
    assert.equal(spec.tasks[0]?.procsPerNode, 8);
  });

  it('keeps an env variable named __proto__ as a plain variable', () => {
    // Prepare
    const input = JSON.parse(
      '{"resources": {"cpus": 1, "memory": 1}, "tasks": [{"image": "busybox",' +
        ' "env": {"__proto__": "x"}}]}',
    );

    // Act
    const env = validateJobSpec(input).tasks[0]?.env;

    // Assess
    assert.deepEqual(Object.keys(env ?? {}), ['__proto__']);
    assert.equal(Object.getPrototypeOf(env), Object.prototype);
  });

  it('never repeats a credential token in a message', () => {
    // Prepare
    const input = withTask({ imagePullCredential: { username: 'me', token: 987654321 } });

    // Act and assess
    assert.throws(
      () => validateJobSpec(input),
      (error: Error) => error instanceof ValidationError && !error.message.includes('987654321'),
    );
  });
});
