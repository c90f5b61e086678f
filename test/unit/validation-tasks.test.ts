import { describe, it } from 'node:test';
import { UnsupportedFeatureError, ValidationError } from '../../core/src/errors';
import {
  assertJobSpecRejected,
  buildJobSpecInput,
  buildTaskInput,
  type InputOverrides,
} from '../helpers/job-builders';

interface TaskRejection {
  readonly title: string;
  readonly task: InputOverrides;
  readonly error: typeof ValidationError;
  readonly fragment: string;
}

const withTask = (overrides: InputOverrides) =>
  buildJobSpecInput({ tasks: [buildTaskInput(overrides)] });

const credential = (fields: InputOverrides) => ({ imagePullCredential: fields });

const LIST_REJECTIONS = [
  ['tasks given as an object', {}, 'an array of tasks must be provided'],
  ['an empty list of tasks', [], 'an array of tasks must be provided'],
  ['a task that is a string', ['busybox'], 'tasks[0] must be an object, got a string'],
] as const;

const REJECTIONS: readonly TaskRejection[] = [
  ...['args', 'workDir', 'foo'].map((key) => ({
    title: `the task key ${key}`,
    task: { [key]: 'x' },
    error: ValidationError,
    fragment: `invalid item "${key}" in task 0`,
  })),
  ...[
    ['a missing image', undefined, 'tasks[0].image is required'],
    ['an empty image', '', 'tasks[0].image must not be empty'],
    ['an image that is a list', ['busybox'], 'tasks[0].image must be a string, got a list'],
    ['an image with a NUL', 'busy\u0000box', 'tasks[0].image must not contain a NUL'],
  ].map(([title, image, fragment]) => ({
    title: String(title),
    task: { image },
    error: ValidationError,
    fragment: String(fragment),
  })),
  {
    title: 'a pull credential that is a string',
    task: { imagePullCredential: 'user:token' },
    error: ValidationError,
    fragment: 'tasks[0].imagePullCredential must be an object',
  },
  {
    title: 'a pull credential without a token',
    task: credential({ username: 'u' }),
    error: ValidationError,
    fragment: 'tasks[0].imagePullCredential must contain both username and token',
  },
  {
    title: 'a pull credential with an extra key',
    task: credential({ username: 'u', token: 't', registry: 'r' }),
    error: ValidationError,
    fragment: 'invalid item "registry" in tasks[0].imagePullCredential',
  },
  {
    title: 'a pull credential with a numeric token',
    task: credential({ username: 'u', token: 123456 }),
    error: ValidationError,
    fragment: 'tasks[0].imagePullCredential.token must be a non-empty string',
  },
  {
    title: 'a pull credential with an empty username',
    task: credential({ username: '', token: 't' }),
    error: ValidationError,
    fragment: 'tasks[0].imagePullCredential.username must be a non-empty string',
  },
  {
    title: 'an unknown runtime',
    task: { runtime: 'podman' },
    error: ValidationError,
    fragment: 'tasks[0].runtime must be one of singularity, udocker, docker, got "podman"',
  },
  {
    title: 'env given as a list',
    task: { env: ['A=1'] },
    error: ValidationError,
    fragment: 'tasks[0].env must be an object, got a list',
  },
  ...['1ABC', 'MY-VAR', 'A B', ''].map((name) => ({
    title: `the env name ${JSON.stringify(name)}`,
    task: { env: { [name]: 'x' } },
    error: ValidationError,
    fragment: `tasks[0].env has an invalid variable name ${JSON.stringify(name)}`,
  })),
  {
    title: 'a reserved PROMINENCE_ env name',
    task: { env: { PROMINENCE_JOB_ID: '7' } },
    error: ValidationError,
    fragment: 'tasks[0].env.PROMINENCE_JOB_ID is reserved',
  },
  ...[null, { a: 1 }, [1]].map((value) => ({
    title: `an env value of ${JSON.stringify(value)}`,
    task: { env: { MODE: value } },
    error: ValidationError,
    fragment: 'tasks[0].env.MODE must be a string, number or boolean',
  })),
  {
    title: 'an env value with a NUL',
    task: { env: { MODE: 'a\u0000b' } },
    error: ValidationError,
    fragment: 'tasks[0].env.MODE must not contain a NUL',
  },
  {
    title: 'app, which is not supported yet',
    task: { app: 'myapp' },
    error: UnsupportedFeatureError,
    fragment: 'tasks[0].app is not supported yet',
  },
  ...[
    [0, 'tasks[0].procsPerNode must be at least 1, got 0'],
    ['2', 'tasks[0].procsPerNode must be an integer, got a string'],
    [2, 'tasks[0].procsPerNode must not exceed the cores per node, resources.cpus (1), got 2'],
  ].map(([procsPerNode, fragment]) => ({
    title: `procsPerNode of ${JSON.stringify(procsPerNode)} with 1 cpu`,
    task: { procsPerNode },
    error: ValidationError,
    fragment: String(fragment),
  })),
  {
    title: 'a cmd given as a list',
    task: { cmd: ['echo', 'hi'] },
    error: ValidationError,
    fragment: 'tasks[0].cmd must be a string, got a list',
  },
  {
    title: 'a workdir that is a number',
    task: { workdir: 1 },
    error: ValidationError,
    fragment: 'tasks[0].workdir must be a string, got 1',
  },
  {
    title: 'a workdir with a NUL',
    task: { workdir: '/tmp\u0000/x' },
    error: ValidationError,
    fragment: 'tasks[0].workdir must not contain a NUL',
  },
  {
    title: 'an unknown task type',
    task: { type: 'mpi' },
    error: ValidationError,
    fragment: 'tasks[0].type must be one of basic, openmpi, mpich, intelmpi, sidecar, got "mpi"',
  },
  ...['openmpi', 'mpich', 'intelmpi', 'sidecar'].map((type) => ({
    title: `a ${type} task, which is not supported yet`,
    task: { type },
    error: UnsupportedFeatureError,
    fragment: `tasks[0].type ${type} is not supported yet`,
  })),
  {
    title: 'an imageSha256 that is a number',
    task: { imageSha256: 12 },
    error: ValidationError,
    fragment: 'tasks[0].imageSha256 must be a string',
  },
  {
    title: 'stdout, which is not supported yet',
    task: { stdout: 'out.txt' },
    error: UnsupportedFeatureError,
    fragment: 'tasks[0].stdout is not supported yet',
  },
];

function orderCase(
  title: string,
  task: InputOverrides,
  fragment: string,
  error: typeof ValidationError = ValidationError,
): TaskRejection {
  return { title, task, error, fragment };
}

/** Two faults in one task: the one that comes first in §4.9 must be reported. */
const ORDER_CASES: readonly TaskRejection[] = [
  orderCase(
    'an unknown key before a missing image',
    { args: 'x', image: undefined },
    'invalid item "args"',
  ),
  orderCase(
    'a missing image before a bad credential',
    { image: undefined, imagePullCredential: 1 },
    'tasks[0].image',
  ),
  orderCase(
    'a bad credential before a bad runtime',
    { imagePullCredential: 1, runtime: 'x' },
    'tasks[0].imagePullCredential',
  ),
  orderCase(
    'a bad runtime before a reserved env name',
    { runtime: 'x', env: { PROMINENCE_X: 1 } },
    'tasks[0].runtime',
  ),
  orderCase('a bad env before an unsupported app', { env: [], app: 'a' }, 'tasks[0].env'),
  orderCase(
    'an unsupported app before a bad procsPerNode',
    { app: 'a', procsPerNode: 0 },
    'tasks[0].app',
    UnsupportedFeatureError,
  ),
  orderCase(
    'a bad procsPerNode before a bad cmd',
    { procsPerNode: 0, cmd: 1 },
    'tasks[0].procsPerNode',
  ),
  orderCase('a bad cmd before a bad workdir', { cmd: 1, workdir: 1 }, 'tasks[0].cmd'),
  orderCase(
    'a bad workdir before an unsupported type',
    { workdir: 1, type: 'openmpi' },
    'tasks[0].workdir',
  ),
];

describe('validateJobSpec: tasks', () => {
  for (const [title, tasks, fragment] of LIST_REJECTIONS) {
    it(`rejects ${title}`, () => {
      assertJobSpecRejected(buildJobSpecInput({ tasks }), ValidationError, fragment);
    });
  }

  for (const rejection of REJECTIONS) {
    it(`rejects ${rejection.title}`, () => {
      assertJobSpecRejected(withTask(rejection.task), rejection.error, rejection.fragment);
    });
  }

  for (const rejection of ORDER_CASES) {
    it(`reports ${rejection.title}`, () => {
      assertJobSpecRejected(withTask(rejection.task), rejection.error, rejection.fragment);
    });
  }

  it('reports the first bad task before a later one', () => {
    // Prepare
    const tasks = [buildTaskInput({ cmd: 1 }), buildTaskInput({ image: undefined })];

    // Act and assess
    assertJobSpecRejected(buildJobSpecInput({ tasks }), ValidationError, 'tasks[0].cmd');
  });

  it('names the index of a bad later task', () => {
    // Prepare
    const tasks = [buildTaskInput(), buildTaskInput({ foo: 1 })];

    // Act and assess
    assertJobSpecRejected(buildJobSpecInput({ tasks }), ValidationError, 'in task 1');
  });
});
