import type { JobRecord } from '../../core/src/job-types';
import { buildJobSpec } from './job-builders';

/** 2023-11-14T22:13:20Z: a round start time that the fakes and the tests share. */
export const TEST_EPOCH_MS = 1_700_000_000_000;

/** The owner that job records belong to unless a test says otherwise. */
export const TEST_OWNER = 'alice';

/**
 * A stored job as JobService.submit writes it: pending, in the queue, never started. Pass a
 * `spec` built with buildJobSpec to change the description.
 */
export function buildJobRecord(id: number, overrides: Partial<JobRecord> = {}): JobRecord {
  return {
    id,
    owner: TEST_OWNER,
    groups: ['physics'],
    status: 'pending',
    spec: buildJobSpec(),
    createTime: TEST_EPOCH_MS / 1000,
    inQueue: true,
    attempt: 0,
    ...overrides,
  };
}

/** A job that finished at `endTime` (unix seconds) and left the active list. */
export function buildFinishedJobRecord(
  id: number,
  endTime: number,
  overrides: Partial<JobRecord> = {},
): JobRecord {
  return buildJobRecord(id, {
    status: 'completed',
    startTime: endTime - 10,
    endTime,
    inQueue: false,
    attempt: 1,
    ...overrides,
  });
}
