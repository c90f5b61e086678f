import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UnsupportedFeatureError, ValidationError } from '../../core/src/errors';
import { validateJobSpec } from '../../core/src/validation';
import {
  assertJobSpecRejected,
  buildJobSpecInput,
  buildResourcesInput,
  type InputOverrides,
} from '../helpers/job-builders';

interface ResourcesRejection {
  readonly title: string;
  readonly resources: unknown;
  readonly error: typeof ValidationError;
  readonly fragment: string;
}

const withResources = (overrides: InputOverrides) => buildResourcesInput(overrides);

/** Every value that is not a JSON integer, and the part of the message each one gets. */
const NOT_INTEGERS = [
  [1.5, 'got 1.5'],
  ['4', 'got a string'],
  [true, 'got a boolean'],
  [null, 'got null'],
] as const;

/** How messages name a field: walltime carries its unit. */
const fieldName = (key: string) =>
  key === 'walltime' ? 'resources.walltime (minutes)' : `resources.${key}`;

const REJECTIONS: readonly ResourcesRejection[] = [
  {
    title: 'resources given as a list',
    resources: [],
    error: ValidationError,
    fragment: 'resources must be an object, got a list',
  },
  {
    title: 'an unknown key in resources',
    resources: withResources({ gpus: 1 }),
    error: ValidationError,
    fragment: 'invalid item "gpus" in resources',
  },
  ...(['nodes', 'cpus', 'disk', 'walltime'] as const).flatMap((key) =>
    NOT_INTEGERS.map(([value, got]) => ({
      title: `${key} of ${JSON.stringify(value)}`,
      resources: withResources({ [key]: value }),
      error: ValidationError,
      fragment: `${fieldName(key)} must be an integer, ${got}`,
    })),
  ),
  ...(['nodes', 'cpus', 'disk', 'walltime'] as const).flatMap((key) =>
    [0, -1].map((value) => ({
      title: `${key} of ${value}`,
      resources: withResources({ [key]: value }),
      error: ValidationError,
      fragment: `must be at least 1, got ${value}`,
    })),
  ),
  {
    title: 'two nodes, which are not supported yet',
    resources: withResources({ nodes: 2 }),
    error: UnsupportedFeatureError,
    fragment: 'resources.nodes greater than 1 are not supported yet',
  },
  {
    title: 'totalCpusRange, which is not supported yet',
    resources: withResources({ nodes: undefined, cpus: undefined, totalCpusRange: [2, 8] }),
    error: UnsupportedFeatureError,
    fragment: 'resources.totalCpusRange is not supported yet',
  },
  {
    title: 'none of cpus, cpusRange and cpusOptions',
    resources: withResources({ cpus: undefined }),
    error: ValidationError,
    fragment: 'one of resources.cpus, resources.cpusRange or resources.cpusOptions must be',
  },
  {
    title: 'both cpus and cpusRange',
    resources: withResources({ cpusRange: [1, 2] }),
    error: ValidationError,
    fragment: 'resources.cpus and resources.cpusRange cannot both be defined',
  },
  {
    title: 'both cpusRange and cpusOptions',
    resources: withResources({ cpus: undefined, cpusRange: [1, 2], cpusOptions: [1, 2] }),
    error: ValidationError,
    fragment: 'resources.cpusRange and resources.cpusOptions cannot both be defined',
  },
  ...([[1], [1, 2, 3], 4, '1,2'] as const).map((value) => ({
    title: `a cpusRange of ${JSON.stringify(value)}`,
    resources: withResources({ cpus: undefined, cpusRange: value }),
    error: ValidationError,
    fragment: 'resources.cpusRange must be a list of min and max',
  })),
  {
    title: 'a cpusRange with min above max',
    resources: withResources({ cpus: undefined, cpusRange: [4, 2] }),
    error: ValidationError,
    fragment: 'resources.cpusRange must give min before max, got [4, 2]',
  },
  {
    title: 'a cpusRange starting at 0',
    resources: withResources({ cpus: undefined, cpusRange: [0, 2] }),
    error: ValidationError,
    fragment: 'resources.cpusRange[0] must be at least 1',
  },
  {
    title: 'a cpusOptions of three sizes',
    resources: withResources({ cpus: undefined, cpusOptions: [1, 2, 4] }),
    error: ValidationError,
    fragment: 'resources.cpusOptions must be a list of two options',
  },
  {
    title: 'a cpusOptions holding a float',
    resources: withResources({ cpus: undefined, cpusOptions: [2, 2.5] }),
    error: ValidationError,
    fragment: 'resources.cpusOptions[1] must be an integer, got 2.5',
  },
  {
    title: 'neither memory nor memoryPerCpu',
    resources: withResources({ memory: undefined }),
    error: ValidationError,
    fragment: 'resources.memory or resources.memoryPerCpu (in GB) must be defined',
  },
  {
    title: 'both memory and memoryPerCpu',
    resources: withResources({ memoryPerCpu: 1 }),
    error: ValidationError,
    fragment: 'resources.memory and resources.memoryPerCpu cannot both be defined',
  },
  ...([0, -2, '4', true, null] as const).map((value) => ({
    title: `memory of ${JSON.stringify(value)}`,
    resources: withResources({ memory: value }),
    error: ValidationError,
    fragment: 'resources.memory (GB) must be a number greater than 0',
  })),
  {
    title: 'memoryPerCpu of 0',
    resources: withResources({ memory: undefined, memoryPerCpu: 0 }),
    error: ValidationError,
    fragment: 'resources.memoryPerCpu (GB) must be a number greater than 0, got 0',
  },
];

/** Two faults in one `resources`: the one that resources checks first must be reported. */
const ORDER_CASES: readonly ResourcesRejection[] = [
  {
    title: 'an unknown key before bad nodes',
    resources: withResources({ gpus: 1, nodes: 0 }),
    error: ValidationError,
    fragment: 'invalid item "gpus"',
  },
  {
    title: 'bad nodes before missing cpus',
    resources: withResources({ nodes: 0, cpus: undefined }),
    error: ValidationError,
    fragment: 'resources.nodes',
  },
  {
    title: 'unsupported nodes before totalCpusRange',
    resources: withResources({ nodes: 3, totalCpusRange: [1, 2] }),
    error: UnsupportedFeatureError,
    fragment: 'resources.nodes',
  },
  {
    title: 'bad cpus before missing memory',
    resources: withResources({ cpus: 0, memory: undefined }),
    error: ValidationError,
    fragment: 'resources.cpus',
  },
  {
    title: 'bad memory before bad disk',
    resources: withResources({ memory: 0, disk: 0 }),
    error: ValidationError,
    fragment: 'resources.memory',
  },
  {
    title: 'bad disk before bad walltime',
    resources: withResources({ disk: 0, walltime: 0 }),
    error: ValidationError,
    fragment: 'resources.disk',
  },
];

describe('validateJobSpec: resources', () => {
  for (const rejection of REJECTIONS) {
    it(`rejects ${rejection.title}`, () => {
      const input = buildJobSpecInput({ resources: rejection.resources });
      assertJobSpecRejected(input, rejection.error, rejection.fragment);
    });
  }

  for (const rejection of ORDER_CASES) {
    it(`reports ${rejection.title}`, () => {
      const input = buildJobSpecInput({ resources: rejection.resources });
      assertJobSpecRejected(input, rejection.error, rejection.fragment);
    });
  }

  const acceptances = [
    ['fractional memory', { memory: 0.5 }],
    ['memory sent as 16.0 by CLI 0.21', JSON.parse('{"memory": 16.0}')],
    ['fractional memoryPerCpu', { memory: undefined, memoryPerCpu: 1.5 }],
    ['a cpusRange of equal bounds', { cpus: undefined, cpusRange: [2, 2] }],
    ['a cpusOptions with the preferred size first', { cpus: undefined, cpusOptions: [8, 4] }],
    ['an integer written as 1.0', JSON.parse('{"cpus": 1.0, "disk": 10.0}')],
    ['a walltime of one minute', { walltime: 1 }],
  ] as const;

  for (const [title, overrides] of acceptances) {
    it(`accepts ${title}`, () => {
      // Prepare
      const resources = withResources(overrides);

      // Act
      const spec = validateJobSpec(buildJobSpecInput({ resources }));

      // Assess
      assert.deepEqual(spec.resources, resources);
    });
  }

  it('defaults nodes to 1 and leaves disk and walltime to the worker', () => {
    // Prepare
    const resources = { cpus: 4, memory: 8 };

    // Act
    const spec = validateJobSpec(buildJobSpecInput({ resources }));

    // Assess
    assert.deepEqual(spec.resources, { nodes: 1, cpus: 4, memory: 8 });
  });

  it('returns the cpusRange as a copy of the list', () => {
    // Prepare
    const cpusRange = [1, 4];
    const input = buildJobSpecInput({ resources: withResources({ cpus: undefined, cpusRange }) });

    // Act
    const spec = validateJobSpec(input);
    cpusRange[1] = 64;

    // Assess
    assert.deepEqual(spec.resources.cpusRange, [1, 4]);
  });
});
