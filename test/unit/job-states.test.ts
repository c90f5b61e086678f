import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidTransitionError } from '../../core/src/errors';
import {
  assertTransition,
  canTransition,
  isJobStatus,
  isTerminal,
  JOB_STATES,
  type JobStatus,
  TERMINAL_STATES,
} from '../../core/src/job-states';

/**
 * The allowed moves, written out again rather than imported, so that a change to the state
 * machine has to be made in two places on purpose (spec §5.3 transitions).
 */
const ALLOWED: ReadonlySet<string> = new Set([
  'pending->running',
  'pending->failed',
  'pending->deleted',
  'running->pending',
  'running->completed',
  'running->failed',
  'running->killed',
  'running->deleted',
]);

const PAIRS = JOB_STATES.flatMap((from) => JOB_STATES.map((to) => [from, to] as const));

describe('job state machine', () => {
  it('lists the six states in the order a job passes through them', () => {
    // Assess
    assert.deepEqual(JOB_STATES, [
      'pending',
      'running',
      'completed',
      'failed',
      'killed',
      'deleted',
    ]);
  });

  for (const [from, to] of PAIRS) {
    const allowed = ALLOWED.has(`${from}->${to}`);

    it(`${allowed ? 'allows' : 'refuses'} ${from} -> ${to}`, () => {
      // Act
      const result = canTransition(from, to);

      // Assess
      assert.equal(result, allowed);
      if (allowed) {
        assert.doesNotThrow(() => assertTransition(from, to));
      } else {
        assert.throws(
          () => assertTransition(from, to),
          (error: unknown) =>
            error instanceof InvalidTransitionError &&
            error.message === `A job cannot move from ${from} to ${to}`,
        );
      }
    });
  }

  it('checks all 36 pairs, of which 8 are allowed', () => {
    // Act
    const allowedPairs = PAIRS.filter(([from, to]) => canTransition(from, to));

    // Assess
    assert.equal(PAIRS.length, 36);
    assert.deepEqual(
      allowedPairs.map(([from, to]) => `${from}->${to}`),
      [...ALLOWED],
    );
  });

  it('treats completed, failed, killed and deleted as terminal, and nothing else', () => {
    // Act
    const terminal = JOB_STATES.filter((status) => isTerminal(status));

    // Assess
    assert.deepEqual(terminal, ['completed', 'failed', 'killed', 'deleted']);
    assert.deepEqual([...TERMINAL_STATES].sort(), [...terminal].sort());
  });

  it('lets no terminal state move anywhere', () => {
    // Act
    const exits = JOB_STATES.filter(isTerminal).flatMap((from) =>
      JOB_STATES.filter((to) => canTransition(from, to)).map((to) => `${from}->${to}`),
    );

    // Assess
    assert.deepEqual(exits, []);
  });

  it('refuses to move a state to itself', () => {
    // Act
    const selfMoves = JOB_STATES.filter((status: JobStatus) => canTransition(status, status));

    // Assess
    assert.deepEqual(selfMoves, []);
  });

  it("recognises Flare's statuses and rejects the reference service's other names", () => {
    // Act
    const known = JOB_STATES.every((status) => isJobStatus(status));
    const unknown = ['idle', 'deploying', 'waiting', 'created', 'PENDING', ''].filter((status) =>
      isJobStatus(status),
    );

    // Assess
    assert.equal(known, true);
    assert.deepEqual(unknown, []);
  });
});
