import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { busyboxJob, type FlareApi } from '../helpers/flare-api';
import { FlareProcess, waitUntil } from '../helpers/flare-process';
import { TestEngine } from '../helpers/test-engine';

/** How long the walltime test may take from submission: a 1-minute limit plus slack. */
const WALLTIME_BOUND_MS = 150_000;

describe('how jobs end', () => {
  let engine: TestEngine | undefined;
  let flare: FlareProcess | undefined;
  let api: FlareApi;
  let walltimeJobId: number;
  let walltimeSubmittedMs: number;

  before(async () => {
    engine = await TestEngine.start();
    await engine.buildTestImages();
    // Room for the minute-long walltime job beside the others, which run meanwhile.
    flare = await FlareProcess.start({ env: { ...engine.env, FLARE_WORKER_CONCURRENCY: '4' } });
    api = flare.api(await flare.token('alice'));
    walltimeSubmittedMs = Date.now();
    walltimeJobId = await api.submit(busyboxJob('walltime', 'sleep 300', { walltime: 1 }));
  });

  after(async () => {
    await flare?.dispose();
    await engine?.dispose();
  });

  it('records exit code 3 as completed and keeps stdout and stderr apart', async () => {
    // Prepare
    const cmd = 'echo out1; echo err1 >&2; echo out2; echo err2 >&2; exit 3';

    // Act
    const id = await api.submit(busyboxJob('streams', cmd));
    const done = await api.waitForEnd(id);
    const stdout = await api.output(id, 'stdout');
    const stderr = await api.output(id, 'stderr');
    const tail = await api.output(id, 'stdout', 'out1\n'.length);
    const pastEnd = await api.output(id, 'stdout', 1000);

    // Assess: a non-zero exit is still a completed job (spec §5.3).
    assert.equal(done.status, 'completed', JSON.stringify(done));
    assert.equal(done.statusReason, undefined);
    assert.equal(done.execution?.tasks?.[0]?.exitCode, 3);
    assert.equal(stdout, 'out1\nout2\n');
    assert.equal(stderr, 'err1\nerr2\n');
    assert.equal(tail, 'out2\n');
    assert.equal(pastEnd, '');
  });

  it('serves stdout while the job runs, growing as the job writes', async (t) => {
    // Prepare: 25 lines, one each 0.2 s, so about 5 s of output.
    const cmd = 'for i in $(seq 1 25); do echo line-$i; sleep 0.2; done';
    const expected = Array.from({ length: 25 }, (_, i) => `line-${i + 1}\n`).join('');
    const id = await api.submit(busyboxJob('ticker', cmd));
    await api.waitForRunning(id);

    // Act: follow it as `prominence stdout --tail` does, reading on from the last offset.
    const pieces: string[] = [];
    let offsetBytes = 0;
    while ((await api.describe(id))?.status === 'running') {
      const piece = await api.output(id, 'stdout', offsetBytes);
      if (piece !== '') pieces.push(piece);
      offsetBytes += Buffer.byteLength(piece);
      await sleep(300);
    }
    const rest = await api.output(id, 'stdout', offsetBytes);
    const whole = await api.output(id, 'stdout');

    // Assess: several partial reads while it ran, which add up to the final stream.
    t.diagnostic(`read ${pieces.length} non-empty pieces while running`);
    assert.ok(pieces.length >= 3, `only ${pieces.length} growing reads: ${JSON.stringify(pieces)}`);
    assert.ok(pieces[0] !== undefined && pieces[0].length < expected.length);
    assert.equal(pieces.join('') + rest, expected);
    assert.equal(whole, expected);
    assert.equal((await api.describe(id))?.status, 'completed');
  });

  it('fails a job whose image cannot be pulled', async () => {
    // Prepare
    const job = {
      name: 'missing-image',
      resources: { nodes: 1, cpus: 1, memory: 1, disk: 10 },
      tasks: [{ image: 'localhost/flare-test/missing:latest', runtime: 'docker', cmd: 'true' }],
    };

    // Act
    const id = await api.submit(job);
    const done = await api.waitForEnd(id);

    // Assess
    assert.equal(done.status, 'failed', JSON.stringify(done));
    assert.equal(done.statusReason, 'Container image pull failed');
    assert.equal(done.execution?.tasks?.[0]?.imagePullStatus, 'failed');
    assert.equal(done.execution?.tasks?.[0]?.exitCode, undefined);
    assert.ok(Number.isInteger(done.events.endTime));
    assert.match(await api.output(id, 'stderr'), /^flare: Cannot pull .*missing/);
  });

  it('stops the container of a running job within 5 s of its delete', async (t) => {
    // Prepare: wait until the engine really runs the job's container.
    const id = await api.submit(busyboxJob('delete-running', 'sleep 300'));
    await api.waitForRunning(id);
    const started = await waitUntil(
      async () => (await engine?.jobContainers(id, { all: false }))?.length === 1,
      30_000,
    );
    assert.ok(started, `no running container for job ${id}`);

    // Act
    const answer = await api.request('DELETE', `/jobs/${id}`);
    const deletedMs = Date.now();
    const stopped = await waitUntil(
      async () => (await engine?.jobContainers(id, { all: false }))?.length === 0,
      5_000,
    );
    const stopMs = Date.now() - deletedMs;
    const removed = await waitUntil(
      async () => (await engine?.jobContainers(id, { all: true }))?.length === 0,
      15_000,
    );

    // Assess
    t.diagnostic(`container stopped ${stopMs} ms after the delete answered`);
    assert.equal(answer.status, 200, answer.text);
    assert.deepEqual(answer.json(), {});
    assert.ok(stopped, 'the container still ran 5 s after the delete');
    assert.ok(removed, 'the stopped container was not removed');
    const job = await api.describe(id);
    assert.equal(job?.status, 'deleted');
    assert.equal(job?.statusReason, 'Job deleted by user');
  });

  it('kills a job that runs past its walltime', { timeout: WALLTIME_BOUND_MS }, async (t) => {
    // Act: the job was submitted before the other tests, which ran meanwhile.
    const remainingMs = walltimeSubmittedMs + WALLTIME_BOUND_MS - 5_000 - Date.now();
    const done = await api.waitForEnd(walltimeJobId, remainingMs);

    // Assess: killed about a minute after it started, not at its 300 s sleep's end.
    const { startTime, endTime } = done.events;
    t.diagnostic(`ran ${(endTime ?? 0) - (startTime ?? 0)} s; ${JSON.stringify(done.execution)}`);
    assert.equal(done.status, 'killed', JSON.stringify(done));
    assert.equal(done.statusReason, 'Walltime limit exceeded');
    assert.ok(startTime !== undefined && endTime !== undefined);
    const ranSeconds = endTime - startTime;
    assert.ok(ranSeconds >= 59 && ranSeconds <= 90, `ran ${ranSeconds} s`);
    const usage = done.execution?.tasks?.[0]?.wallTimeUsage ?? 0;
    assert.ok(usage >= 59 && usage <= 90, `wallTimeUsage ${usage}`);
    const left = await engine?.jobContainers(walltimeJobId, { all: false });
    assert.deepEqual(left, []);
  });
});
