import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { busyboxJob, type FlareApi } from '../helpers/flare-api';
import { FlareProcess, freePort, runFlareUntilExit, waitUntil } from '../helpers/flare-process';
import { TestEngine } from '../helpers/test-engine';

describe('Flare restarted', () => {
  let engine: TestEngine | undefined;
  let flare: FlareProcess | undefined;
  let token: string;
  let api: FlareApi;

  before(async () => {
    engine = await TestEngine.start();
    await engine.buildTestImages();
    // One job at a time, so that a second job stays pending behind a running one.
    flare = await FlareProcess.start({ env: { ...engine.env, FLARE_WORKER_CONCURRENCY: '1' } });
    token = await flare.token('alice');
    api = flare.api(token);
  });

  after(async () => {
    await flare?.dispose();
    await engine?.dispose();
  });

  /** Asserts that no job is running, in the API and in the engine. */
  async function assertNothingRunning(ids: readonly number[]): Promise<void> {
    assert.deepEqual(await api.list('?status=running'), []);
    for (const id of ids) {
      assert.deepEqual(await engine?.jobContainers(id, { all: false }), [], `job ${id} runs`);
    }
  }

  it('finishes a job once after its worker was killed mid-run', async (t) => {
    // Prepare: the job has written its first line and is asleep when the worker dies.
    const id = await api.submit(busyboxJob('survivor', 'echo started; sleep 8; echo done'));
    await api.waitForRunning(id);
    const wroteFirstLine = await waitUntil(
      async () => (await api.output(id, 'stdout')) === 'started\n',
      30_000,
    );
    assert.ok(wroteFirstLine, 'the job never wrote its first line');

    // Act
    const killed = await flare?.kill();
    const orphaned = await engine?.jobContainers(id, { all: false });
    const restartedMs = Date.now();
    await flare?.restart();
    const done = await api.waitForEnd(id, 60_000);

    // Assess: the container outlived the worker, and the job ended as if nothing happened.
    t.diagnostic(`completed ${Date.now() - restartedMs} ms after the restart began`);
    t.diagnostic(`the killed launch ended with ${JSON.stringify(killed)}`);
    assert.notDeepEqual(killed, { code: 0, signal: null });
    assert.equal(orphaned?.length, 1, 'the job container should outlive the killed worker');
    assert.equal(done.status, 'completed', JSON.stringify(done));
    assert.equal(done.execution?.tasks?.length, 1);
    assert.equal(done.execution?.tasks?.[0]?.exitCode, 0);
    assert.equal(await api.output(id, 'stdout'), 'started\ndone\n');
    assert.equal(await api.output(id, 'stderr'), '');
    await assertNothingRunning([id]);
  });

  it('keeps jobs and output across a graceful restart and runs the job left pending', async () => {
    // Prepare: a finished job, one running and one pending behind it at the stop.
    const kept = await api.submit(busyboxJob('kept', 'echo kept-out; echo kept-err >&2'));
    const keptBefore = await api.waitForEnd(kept);
    assert.equal(keptBefore.status, 'completed');
    const blocker = await api.submit(
      busyboxJob('blocker', 'echo blocking; sleep 5; echo unblocked'),
    );
    await api.waitForRunning(blocker);
    const pending = await api.submit(busyboxJob('left-pending', 'echo ran-after-restart'));
    // Time for an idle worker to claim it: still pending means it waits for the busy one.
    await sleep(1000);
    assert.equal((await api.describe(pending))?.status, 'pending');

    // Act
    const stopped = await flare?.stop();
    // Only this launch's: the Podman service of the launch killed in the test before lives
    // on, reused by the restarted Flare, which does not stop what it did not start.
    const leftovers = flare?.leftoverProcesses({ lastLaunchOnly: true });
    await flare?.restart();
    const keptAfter = await api.describe(kept);
    const completedList = await api.list('?completed=true&num=5');
    const pendingDone = await api.waitForEnd(pending, 60_000);
    const blockerDone = await api.waitForEnd(blocker, 60_000);

    // Assess: a clean exit that took its Podman service along, and nothing lost.
    assert.deepEqual(stopped, { code: 0, signal: null });
    assert.deepEqual(leftovers, []);
    assert.deepEqual(keptAfter, keptBefore);
    assert.equal(await api.output(kept, 'stdout'), 'kept-out\n');
    assert.equal(await api.output(kept, 'stderr'), 'kept-err\n');
    assert.ok(completedList.some((job) => job.id === kept && job.status === 'completed'));
    assert.equal(pendingDone.status, 'completed', JSON.stringify(pendingDone));
    assert.equal(await api.output(pending, 'stdout'), 'ran-after-restart\n');
    assert.equal(blockerDone.status, 'completed', JSON.stringify(blockerDone));
    assert.equal(await api.output(blocker, 'stdout'), 'blocking\nunblocked\n');
    // The token issued before the restarts still works: the key is kept in the data directory.
    assert.equal((await flare?.api(token).describe(kept))?.id, kept);
    await assertNothingRunning([kept, blocker, pending]);
  });

  it('refuses a second start on the same data directory and leaves the first one working', async () => {
    // Prepare
    const dataDir = flare?.dataDir ?? '';
    const port = await freePort();

    // Act
    const second = await runFlareUntilExit({
      ...process.env,
      ...engine?.env,
      FLARE_DATA_DIR: dataDir,
      PORT: String(port),
    });
    const id = await api.submit(busyboxJob('after-second-start', 'echo still here'));
    const done = await api.waitForEnd(id, 60_000);

    // Assess
    assert.equal(second.code, 1, second.stderr);
    assert.match(second.stderr, /is in use by another Flare/);
    assert.equal(done.status, 'completed', JSON.stringify(done));
    assert.equal(await api.output(id, 'stdout'), 'still here\n');
  });
});
