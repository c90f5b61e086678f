import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  FARGATE_MAX_REQUEST,
  FARGATE_SIZES,
  fargateLimits,
  pickFargateSize,
} from '../../adapters/aws/fargate-sizes';

const GIB = 1024;

/** The memory sizes offered with `cpuUnits`, in GiB. */
function memoryGiBFor(cpuUnits: number): number[] {
  return FARGATE_SIZES.filter((size) => size.cpuUnits === cpuUnits).map(
    (size) => size.memoryMiB / GIB,
  );
}

const range = (from: number, to: number, step: number) =>
  Array.from({ length: (to - from) / step + 1 }, (_, i) => from + i * step);

describe('FARGATE_SIZES', () => {
  it('lists the CPU sizes Fargate runs Linux tasks at', () => {
    // Act
    const cpus = [...new Set(FARGATE_SIZES.map((size) => size.cpuUnits))];

    // Assess
    assert.deepEqual(cpus, [256, 512, 1024, 2048, 4096, 8192, 16384]);
  });

  it('pairs each CPU size with the memory AWS documents for it', () => {
    // Assess
    assert.deepEqual(memoryGiBFor(256), [0.5, 1, 2]);
    assert.deepEqual(memoryGiBFor(512), [1, 2, 3, 4]);
    assert.deepEqual(memoryGiBFor(1024), range(2, 8, 1));
    assert.deepEqual(memoryGiBFor(2048), range(4, 16, 1));
    assert.deepEqual(memoryGiBFor(4096), range(8, 30, 1));
    assert.deepEqual(memoryGiBFor(8192), range(16, 60, 4));
    assert.deepEqual(memoryGiBFor(16384), range(32, 120, 8));
  });
});

describe('pickFargateSize', () => {
  const cases = [
    { cpus: 1, memoryMiB: 1024, expected: [1024, 2048] },
    { cpus: 1, memoryMiB: 1998, expected: [1024, 2048] },
    { cpus: 1, memoryMiB: 1999, expected: [1024, 3072] },
    { cpus: 1, memoryMiB: 8142, expected: [1024, 8192] },
    { cpus: 1, memoryMiB: 8143, expected: [2048, 9216] },
    { cpus: 0.25, memoryMiB: 256, expected: [256, 512] },
    { cpus: 3, memoryMiB: 1024, expected: [4096, 8192] },
    { cpus: 4, memoryMiB: 30 * GIB, expected: [8192, 32 * GIB] },
    { cpus: 8, memoryMiB: 61 * GIB, expected: [16384, 64 * GIB] },
    { cpus: 16, memoryMiB: 120 * GIB - 50, expected: [16384, 120 * GIB] },
  ] as const;
  for (const { cpus, memoryMiB, expected } of cases) {
    it(`gives ${cpus} cores and ${memoryMiB} MiB the size ${expected.join('/')}`, () => {
      // Act
      const fit = pickFargateSize({ cpus, memoryMiB });

      // Assess
      assert.deepEqual(fit, {
        fits: true,
        size: { cpuUnits: expected[0], memoryMiB: expected[1] },
      });
    });
  }

  it('says why a job with more cores than Fargate has cannot run', () => {
    // Act
    const fit = pickFargateSize({ cpus: 32, memoryMiB: 1024 });

    // Assess
    assert.deepEqual(fit, {
      fits: false,
      reason: "Fargate's largest task has 16 vCPUs, and the job asks for at least 32 cores",
    });
  });

  it('says why a job with more memory than Fargate has cannot run', () => {
    // Act
    const fit = pickFargateSize({ cpus: 2, memoryMiB: 120 * GIB });

    // Assess
    assert.deepEqual(fit, {
      fits: false,
      reason:
        "Fargate's largest task has 120 GiB of memory, 50 MiB of it for the log router, " +
        'and the job asks for at least 122880 MiB',
    });
  });

  it('agrees with the limits the API applies and the capacity the runner offers', () => {
    // Assess
    assert.deepEqual(FARGATE_MAX_REQUEST, { cpus: 16, memoryMiB: 120 * GIB - 50 });
    assert.equal(fargateLimits.refusal(FARGATE_MAX_REQUEST), undefined);
    assert.match(fargateLimits.refusal({ cpus: 16, memoryMiB: 120 * GIB - 49 }) ?? '', /GiB/);
  });
});
