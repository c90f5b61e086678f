import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from '../../core/src/errors';
import { validateJobSpec } from '../../core/src/validation';
import { assertJobSpecRejected, buildJobSpecInput } from '../helpers/job-builders';

const withPolicies = (policies: unknown) => buildJobSpecInput({ policies });

/** Each integer policy with values just outside its inclusive bounds, and the range it states. */
const INTEGER_BOUNDS = [
  ['maximumRetries', [0, 7], 'between 1 and 6'],
  ['maximumTaskRetries', [0, 7], 'between 1 and 6'],
  ['maximumTimeInQueue', [-2, 44_641], 'between -1 and 44640'],
  ['maximumIdleTimePerResource', [0, 44_641], 'between 1 and 44640'],
  ['priority', [-1], 'at least 0'],
] as const;

/** Each integer policy with values on its bounds, all of which must be accepted. */
const INTEGER_LIMITS = [
  ['maximumRetries', [1, 6]],
  ['maximumTaskRetries', [1, 6]],
  ['maximumTimeInQueue', [-1, 0, 44_640]],
  ['maximumIdleTimePerResource', [1, 44_640]],
  ['priority', [0, 1_000_000]],
] as const;

const BOOLEAN_POLICIES = [
  'leaveInQueue',
  'ignoreTaskFailures',
  'ignoreTaskTailures',
  'reportJobSuccessOnTaskFailure',
  'runSerialTasksOnAllNodes',
] as const;

const SHAPE_REJECTIONS = [
  ['policies given as a list', [], 'policies must be an object, got a list'],
  ['an unknown policy', { maxRetries: 2 }, 'invalid item "maxRetries" in policies'],
  ['an unknown autoScalingType', { autoScalingType: 'auto' }, 'must be one of none, dedicated'],
  ['placement given as a list', { placement: [] }, 'policies.placement must be an object'],
  [
    'an unknown key in placement',
    { placement: { required: {} } },
    'invalid item "required" in policies.placement',
  ],
  [
    'an unknown key in placement requirements',
    { placement: { requirements: { zones: [] } } },
    'invalid item "zones" in policies.placement.requirements',
  ],
  [
    'placement sites given as a string',
    { placement: { requirements: { sites: 'site-a' } } },
    'policies.placement.requirements.sites must be a list of strings',
  ],
  [
    'placement regions holding a number',
    { placement: { preferences: { regions: ['eu', 1] } } },
    'policies.placement.preferences.regions must be a list of strings',
  ],
  [
    'both ignoreTaskFailures and its misspelling',
    { ignoreTaskFailures: true, ignoreTaskTailures: true },
    'cannot both be defined',
  ],
] as const;

describe('validateJobSpec: policies', () => {
  for (const [title, policies, fragment] of SHAPE_REJECTIONS) {
    it(`rejects ${title}`, () => {
      assertJobSpecRejected(withPolicies(policies), ValidationError, fragment);
    });
  }

  for (const [key, values, range] of INTEGER_BOUNDS) {
    for (const value of values) {
      it(`rejects ${key} of ${value}`, () => {
        const fragment = `policies.${key} must be ${range}, got ${value}`;
        assertJobSpecRejected(withPolicies({ [key]: value }), ValidationError, fragment);
      });
    }
    for (const value of ['2', 1.5, true]) {
      it(`rejects ${key} of ${JSON.stringify(value)}`, () => {
        const fragment = `policies.${key} must be an integer`;
        assertJobSpecRejected(withPolicies({ [key]: value }), ValidationError, fragment);
      });
    }
  }

  for (const key of BOOLEAN_POLICIES) {
    for (const value of ['true', 1, null]) {
      it(`rejects ${key} of ${JSON.stringify(value)}`, () => {
        const fragment = `policies.${key} must be either true or false`;
        assertJobSpecRejected(withPolicies({ [key]: value }), ValidationError, fragment);
      });
    }
  }

  for (const [key, values] of INTEGER_LIMITS) {
    it(`accepts ${key} at ${values.join(', ')}`, () => {
      for (const value of values) {
        // Act
        const spec = validateJobSpec(withPolicies({ [key]: value }));

        // Assess
        assert.deepEqual(spec.policies, { [key]: value });
      }
    });
  }

  it('stores the misspelling ignoreTaskTailures as ignoreTaskFailures', () => {
    // Act
    const spec = validateJobSpec(withPolicies({ ignoreTaskTailures: true }));

    // Assess
    assert.deepEqual(spec.policies, { ignoreTaskFailures: true });
  });

  it('returns every accepted policy as given', () => {
    // Prepare
    const policies = {
      maximumRetries: 2,
      maximumTaskRetries: 3,
      maximumTimeInQueue: -1,
      maximumIdleTimePerResource: 30,
      priority: 5,
      leaveInQueue: true,
      ignoreTaskFailures: false,
      reportJobSuccessOnTaskFailure: true,
      runSerialTasksOnAllNodes: false,
      placement: {
        requirements: { sites: ['site-a'], regions: [] },
        preferences: { regions: ['eu-west-1', 'eu-central-1'] },
      },
      autoScalingType: null,
      preemptible: { anything: ['goes'] },
    };

    // Act
    const spec = validateJobSpec(withPolicies(policies));

    // Assess
    assert.deepEqual(spec.policies, policies);
  });

  for (const autoScalingType of ['none', 'dedicated', 'shared', null]) {
    it(`accepts the autoScalingType ${JSON.stringify(autoScalingType)}`, () => {
      // Act
      const spec = validateJobSpec(withPolicies({ autoScalingType }));

      // Assess
      assert.equal(spec.policies?.autoScalingType, autoScalingType);
    });
  }

  it('returns a copy of preemptible, whatever it holds', () => {
    // Prepare
    const preemptible = { nested: [1, 'two'] };
    const spec = validateJobSpec(withPolicies({ preemptible }));

    // Act
    preemptible.nested.push(3);

    // Assess
    assert.deepEqual(spec.policies?.preemptible, { nested: [1, 'two'] });
  });
});
