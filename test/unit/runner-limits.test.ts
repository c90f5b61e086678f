import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fargateLimits } from '../../adapters/aws/fargate-sizes';
import { ValidationError } from '../../core/src/errors';
import { leastRequest, type RunnerLimits } from '../../core/src/execution/runner-limits';
import type { Identity } from '../../core/src/job-types';
import { JobService } from '../../core/src/jobs/job-service';
import {
  InMemoryJobQueue,
  InMemoryJobStore,
  InMemoryLogStore,
  ManualClock,
  silentLogger,
} from '../helpers/fakes';
import { buildJobSpecInput, buildResourcesInput } from '../helpers/job-builders';

const ALICE: Identity = { username: 'alice', groups: [] };

function setup(limits?: RunnerLimits) {
  const store = new InMemoryJobStore();
  const queue = new InMemoryJobQueue();
  const deps = {
    store,
    queue,
    logs: new InMemoryLogStore(),
    clock: new ManualClock(),
    logger: silentLogger(),
  };
  const service = new JobService(limits === undefined ? deps : { ...deps, limits });
  return { store, queue, service };
}

const withResources = (resources: Record<string, unknown>) =>
  buildJobSpecInput({ resources: buildResourcesInput({ cpus: undefined, ...resources }) });

describe('leastRequest', () => {
  it('takes the fewest cores a job accepts, and the memory that goes with them', () => {
    // Assess
    assert.deepEqual(leastRequest({ cpus: 2, memory: 1.5 }), { cpus: 2, memoryMiB: 1536 });
    assert.deepEqual(leastRequest({ cpusRange: [4, 64], memoryPerCpu: 2 }), {
      cpus: 4,
      memoryMiB: 8192,
    });
    assert.deepEqual(leastRequest({ cpusOptions: [8, 2], memoryPerCpu: 1 }), {
      cpus: 2,
      memoryMiB: 2048,
    });
  });
});

describe('JobService.submit with runner limits', () => {
  it('refuses a job no Fargate task can hold, with a 400 that says why', async () => {
    // Prepare
    const { store, queue, service } = setup(fargateLimits);

    // Act
    const submitting = service.submit(ALICE, withResources({ cpus: 32, memory: 8 }));

    // Assess
    await assert.rejects(submitting, (error) => {
      assert.ok(error instanceof ValidationError);
      assert.equal(
        error.message,
        "This service cannot run the job: Fargate's largest task has 16 vCPUs, " +
          'and the job asks for at least 32 cores',
      );
      return true;
    });
    assert.equal(store.peek(1), undefined);
    assert.deepEqual(queue.sent, []);
  });

  it('refuses a job asking for more memory than the largest task has', async () => {
    // Prepare
    const { service } = setup(fargateLimits);

    // Act
    const submitting = service.submit(ALICE, withResources({ cpus: 16, memory: 121 }));

    // Assess
    await assert.rejects(submitting, /120 GiB of memory/);
  });

  it('accepts a range whose lower end fits, though its upper end does not', async () => {
    // Prepare
    const { queue, service } = setup(fargateLimits);

    // Act
    const id = await service.submit(ALICE, withResources({ cpusRange: [2, 64], memory: 4 }));

    // Assess
    assert.deepEqual(queue.sent, [id]);
  });

  it('accepts any size without limits, as in local mode', async () => {
    // Prepare
    const { queue, service } = setup();

    // Act
    const id = await service.submit(ALICE, withResources({ cpus: 256, memory: 4096 }));

    // Assess
    assert.deepEqual(queue.sent, [id]);
  });
});
