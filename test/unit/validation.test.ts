import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { UnsupportedFeatureError, ValidationError } from '../../core/src/errors';
import { MAX_JOB_SPEC_BYTES, validateJobSpec } from '../../core/src/validation';
import {
  assertJobSpecRejected,
  buildJobSpecInput,
  buildResourcesInput,
  buildTaskInput,
} from '../helpers/job-builders';

interface RejectionCase {
  readonly title: string;
  readonly input: unknown;
  readonly error: typeof ValidationError;
  readonly fragment: string;
}

// The public service's example job (its "Using the API" page, §7.1).
const TESTPI_URL = new URL('../fixtures/testpi.json', import.meta.url);

const withLabels = (labels: unknown) => buildJobSpecInput({ labels });

const REJECTIONS: readonly RejectionCase[] = [
  { title: 'a list', input: [], error: ValidationError, fragment: 'must be a JSON object' },
  { title: 'null', input: null, error: ValidationError, fragment: 'must be a JSON object' },
  { title: 'a string', input: 'job', error: ValidationError, fragment: 'must be a JSON object' },
  { title: 'a number', input: 42, error: ValidationError, fragment: 'must be a JSON object' },
  {
    title: 'an unknown top-level key',
    input: buildJobSpecInput({ constraints: {} }),
    error: ValidationError,
    fragment: 'invalid item "constraints" in job description',
  },
  {
    title: 'a name that is not a string',
    input: buildJobSpecInput({ name: 7 }),
    error: ValidationError,
    fragment: 'name must be a string',
  },
  {
    title: 'a name of 513 characters',
    input: buildJobSpecInput({ name: 'n'.repeat(513) }),
    error: ValidationError,
    fragment: 'name must be at most 512 characters',
  },
  {
    title: 'a name with a semicolon',
    input: buildJobSpecInput({ name: 'bad;name' }),
    error: ValidationError,
    fragment: 'invalid name "bad;name"',
  },
  {
    title: 'labels given as a list',
    input: withLabels(['project=alpha']),
    error: ValidationError,
    fragment: 'labels must be an object',
  },
  {
    title: 'a label key with a dash',
    input: withLabels({ 'my-key': 'x' }),
    error: ValidationError,
    fragment: 'invalid label key "my-key"',
  },
  {
    title: 'a label key of 513 characters',
    input: withLabels({ ['k'.repeat(513)]: 'x' }),
    error: ValidationError,
    fragment: 'invalid label key',
  },
  {
    title: 'an empty label value',
    input: withLabels({ project: '' }),
    error: ValidationError,
    fragment: 'labels.project has an invalid value ""',
  },
  {
    title: 'a label value with a space',
    input: withLabels({ project: 'a b' }),
    error: ValidationError,
    fragment: 'labels.project has an invalid value',
  },
  {
    title: 'a label value of 513 characters',
    input: withLabels({ project: 'v'.repeat(513) }),
    error: ValidationError,
    fragment: 'labels.project has an invalid value',
  },
  {
    title: 'a label value that is a number',
    input: withLabels({ project: 1 }),
    error: ValidationError,
    fragment: 'labels.project must be a string',
  },
  {
    title: 'missing resources',
    input: buildJobSpecInput({ resources: undefined }),
    error: ValidationError,
    fragment: 'a job must contain resources',
  },
  {
    title: 'missing tasks',
    input: buildJobSpecInput({ tasks: undefined }),
    error: ValidationError,
    fragment: 'a job must contain tasks',
  },
  ...(['artifacts', 'inputs', 'outputFiles', 'outputDirs', 'notifications'] as const).map(
    (key) => ({
      title: `${key}, which are not supported yet`,
      input: buildJobSpecInput({ [key]: [] }),
      error: UnsupportedFeatureError,
      fragment: `${key} are not supported yet`,
    }),
  ),
  {
    title: 'storage, which is not supported yet',
    input: buildJobSpecInput({ storage: { type: 'onedata' } }),
    error: UnsupportedFeatureError,
    fragment: 'storage is not supported yet',
  },
];

const ORDER_CASES: readonly RejectionCase[] = [
  {
    title: 'an unknown key before a bad name',
    input: buildJobSpecInput({ extra: 1, name: 'bad;name' }),
    error: ValidationError,
    fragment: 'invalid item "extra"',
  },
  {
    title: 'a bad name before bad labels',
    input: buildJobSpecInput({ name: 'bad;name', labels: [] }),
    error: ValidationError,
    fragment: 'invalid name',
  },
  {
    title: 'bad labels before missing resources',
    input: buildJobSpecInput({ labels: [], resources: undefined }),
    error: ValidationError,
    fragment: 'labels must be an object',
  },
  {
    title: 'bad resources before bad tasks',
    input: buildJobSpecInput({ resources: buildResourcesInput({ cpus: 0 }), tasks: {} }),
    error: ValidationError,
    fragment: 'resources.cpus must be at least 1',
  },
  {
    title: 'bad tasks before unsupported artifacts',
    input: buildJobSpecInput({ tasks: [buildTaskInput({ image: '' })], artifacts: [] }),
    error: ValidationError,
    fragment: 'tasks[0].image must not be empty',
  },
  {
    title: 'a bad name before unsupported artifacts',
    input: buildJobSpecInput({ name: 'bad;name', artifacts: [] }),
    error: ValidationError,
    fragment: 'invalid name',
  },
  {
    title: 'outputFiles before inputs, as the reference checks them',
    input: buildJobSpecInput({ inputs: [], outputFiles: [] }),
    error: UnsupportedFeatureError,
    fragment: 'outputFiles',
  },
  {
    title: 'unsupported storage before bad policies',
    input: buildJobSpecInput({ storage: {}, policies: { maximumRetries: 0 } }),
    error: UnsupportedFeatureError,
    fragment: 'storage',
  },
  {
    title: 'bad policies before unsupported notifications',
    input: buildJobSpecInput({ policies: { maximumRetries: 0 }, notifications: [] }),
    error: ValidationError,
    fragment: 'policies.maximumRetries',
  },
];

describe('validateJobSpec: the job description', () => {
  for (const rejection of REJECTIONS) {
    it(`rejects ${rejection.title}`, () => {
      assertJobSpecRejected(rejection.input, rejection.error, rejection.fragment);
    });
  }

  for (const rejection of ORDER_CASES) {
    it(`reports ${rejection.title}`, () => {
      assertJobSpecRejected(rejection.input, rejection.error, rejection.fragment);
    });
  }

  it('accepts the testpi example and adds nothing to it', async () => {
    // Prepare
    const input: unknown = JSON.parse(await readFile(TESTPI_URL, 'utf8'));

    // Act
    const spec = validateJobSpec(input);

    // Assess
    assert.deepEqual(spec, input);
    assert.equal(spec.resources.nodes, 1);
    assert.equal(spec.tasks[0]?.runtime, 'singularity');
  });

  it('returns only the known keys with name, nodes and runtime defaulted', () => {
    // Prepare
    const input = {
      resources: { cpus: 2, memory: 4 },
      tasks: [{ image: 'busybox' }, { image: 'ghcr.io/org/tool:1.2', runtime: 'udocker' }],
    };

    // Act
    const spec = validateJobSpec(input);

    // Assess
    assert.deepEqual(spec, {
      name: '',
      resources: { nodes: 1, cpus: 2, memory: 4 },
      tasks: [
        { image: 'busybox', runtime: 'singularity' },
        { image: 'ghcr.io/org/tool:1.2', runtime: 'udocker' },
      ],
    });
  });

  it('returns an object that shares nothing with the input', () => {
    // Prepare
    const input = buildJobSpecInput({ labels: { project: 'alpha' } });
    const spec = validateJobSpec(input);

    // Act
    Object.assign(input.resources as object, { cpus: 64 });
    Object.assign(input.labels as object, { project: 'beta' });
    Object.assign((input.tasks as object[])[0] as object, { cmd: 'rm -rf /' });

    // Assess
    assert.equal(spec.resources.cpus, 1);
    assert.equal(spec.labels?.project, 'alpha');
    assert.equal(spec.tasks[0]?.cmd, 'echo hello');
  });

  it('accepts names and labels at the 512-character limit', () => {
    // Prepare
    const input = buildJobSpecInput({
      name: `my job/run.1_${'n'.repeat(499)}`,
      labels: { ['k'.repeat(512)]: 'v'.repeat(512), project: 'café-2024/v1.0' },
    });

    // Act
    const spec = validateJobSpec(input);

    // Assess
    assert.equal(spec.name.length, 512);
    assert.equal(spec.labels?.project, 'café-2024/v1.0');
  });

  it('accepts an empty name', () => {
    // Act
    const spec = validateJobSpec(buildJobSpecInput({ name: '' }));

    // Assess
    assert.equal(spec.name, '');
  });

  it('accepts a description of exactly the size limit and rejects one byte more', () => {
    // Prepare
    const sizeWithoutCmd = JSON.stringify(validateJobSpec(jobWithCmd(''))).length;
    const fitting = jobWithCmd('x'.repeat(MAX_JOB_SPEC_BYTES - sizeWithoutCmd));
    const oversized = jobWithCmd('x'.repeat(MAX_JOB_SPEC_BYTES - sizeWithoutCmd + 1));

    // Act
    const spec = validateJobSpec(fitting);

    // Assess
    assert.equal(JSON.stringify(spec).length, MAX_JOB_SPEC_BYTES);
    assertJobSpecRejected(oversized, ValidationError, 'the job description is too large');
  });

  it('counts the size in UTF-8 bytes, not characters', () => {
    // Prepare
    const input = jobWithCmd('é'.repeat(MAX_JOB_SPEC_BYTES / 2));

    // Act and assess
    assertJobSpecRejected(input, ValidationError, 'the job description is too large');
  });

  it('shortens a huge unknown key in the message', () => {
    // Prepare
    const input = buildJobSpecInput({ ['x'.repeat(100_000)]: 1 });

    // Act and assess
    assertJobSpecRejected(input, ValidationError, `invalid item "${'x'.repeat(100)}..."`);
    assert.throws(
      () => validateJobSpec(input),
      (error: Error) => error.message.length < 200,
    );
  });
});

function jobWithCmd(cmd: string) {
  return buildJobSpecInput({ tasks: [buildTaskInput({ cmd })] });
}
