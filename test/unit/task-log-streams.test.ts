import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ecsTaskIdOf, eventBytes, taskLogStreamName } from '../../adapters/aws/task-log-streams';

describe('task log streams', () => {
  const handles: [string, string | undefined][] = [
    ['arn:aws:ecs:eu-west-2:123456789012:task/flare-jobs/0f3c6b1e9d8a4b7c', '0f3c6b1e9d8a4b7c'],
    ['arn:aws:ecs:us-east-1:123456789012:task/5a2b9c8d-1e2f-4a3b-9c8d', '5a2b9c8d-1e2f-4a3b-9c8d'],
    ['arn:aws-us-gov:ecs:us-gov-west-1:123456789012:task/jobs/abc123', 'abc123'],
    ['b1946ac92492d2347c6235b4d2611184', undefined],
    ['arn:aws:ecs:eu-west-2:123456789012:task-definition/flare-job:3', undefined],
    ['arn:aws:ecs:eu-west-2:123456789012:task/a/b/c', undefined],
  ];
  for (const [handle, expected] of handles) {
    it(`reads ${expected ?? 'no task id'} from ${handle}`, () => {
      // Act
      const taskId = ecsTaskIdOf(handle);

      // Assess
      assert.equal(taskId, expected);
    });
  }

  it('names the streams the log router writes', () => {
    // Act
    const names = [taskLogStreamName('abc', 'stdout'), taskLogStreamName('abc', 'stderr')];

    // Assess
    assert.deepEqual(names, ['tasks/abc/stdout', 'tasks/abc/stderr']);
  });

  it('turns an event into its line, counting bytes of UTF-8', () => {
    // Act
    const bytes = [eventBytes('ünï'), eventBytes(''), eventBytes(undefined)];

    // Assess
    assert.deepEqual(
      bytes.map((line) => [line.toString('utf8'), line.length]),
      [
        ['ünï\n', 6],
        ['\n', 1],
        ['\n', 1],
      ],
    );
  });
});
