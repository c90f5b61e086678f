import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { busyboxJob, type FlareApi, type JobView } from '../helpers/flare-api';
import { FlareProcess, REPO_ROOT } from '../helpers/flare-process';
import { TestEngine } from '../helpers/test-engine';
import { PI_100_DECIMALS } from '../helpers/test-images';

/** The example job of the usage guide §7.1, from the shared folder beside the repository. */
// The public service's example job (its "Using the API" page, §7.1).
const TESTPI_FILE = join(REPO_ROOT, 'test', 'fixtures', 'testpi.json');

function assertUnixSeconds(value: unknown, what: string): asserts value is number {
  assert.ok(Number.isInteger(value), `${what} is not an integer: ${value}`);
  // Within a day of now: seconds, not milliseconds, and not a placeholder.
  assert.ok(Math.abs((value as number) - Date.now() / 1000) < 86_400, `${what} is ${value}`);
}

describe('the curl session of the usage guide', () => {
  let engine: TestEngine | undefined;
  let flare: FlareProcess | undefined;
  let api: FlareApi;

  before(async () => {
    engine = await TestEngine.start();
    await engine.buildTestImages();
    flare = await FlareProcess.start({ env: engine.env });
    api = flare.api(await flare.token('alice'));
  });

  after(async () => {
    await flare?.dispose();
    await engine?.dispose();
  });

  it('submits testpi.json, follows it to completed and reads pi from its stdout', async (t) => {
    // Prepare: curl's -d@file drops the file's line breaks, so the body goes without them.
    const body = (await readFile(TESTPI_FILE, 'utf8')).replace(/[\r\n]/g, '');

    // Act: curl -X POST -H "Content-Type: application/json" -d@testpi.json .../jobs
    const created = await api.request('POST', '/jobs', {
      body,
      headers: { 'content-type': 'application/json' },
    });
    const id = (created.json() as { id: number }).id;
    const first = await api.describe(id);
    const activeList = await api.list();

    // Assess: 201 {"id": N}, then the job is queued or running and listed as active.
    assert.equal(created.status, 201, created.text);
    assert.match(created.contentType, /^application\/json/);
    assert.deepEqual(Object.keys(created.json() as object), ['id']);
    assert.ok(Number.isInteger(id) && id > 0, `id ${id}`);
    assert.ok(first !== undefined, 'GET /jobs/N gave []');
    assert.ok(['pending', 'running'].includes(first.status), `first status ${first.status}`);
    assert.equal(first.id, id);
    assert.equal(first.name, 'calculate-pi');
    assert.deepEqual(first.tasks, [{ image: 'eoscprominence/testpi', runtime: 'singularity' }]);
    const { memory, cpus, nodes, disk } = first.resources ?? {};
    assert.deepEqual({ memory, cpus, nodes, disk }, { memory: 1, cpus: 1, nodes: 1, disk: 10 });
    assertUnixSeconds(first.events.createTime, 'createTime');
    const listed = activeList.find((job) => job.id === id);
    assert.ok(listed !== undefined, `GET /jobs left out active job ${id}`);
    assert.ok(['pending', 'running'].includes(listed.status));
    assert.equal(listed.name, 'calculate-pi');

    // Act: poll until it ends.
    const done = await api.waitForEnd(id, 60_000);
    t.diagnostic(`first seen ${first.status}; finished as ${JSON.stringify(done)}`);

    // Assess: completed, with integer events in order and the execution record.
    assert.equal(done.status, 'completed', JSON.stringify(done));
    assert.equal(done.statusReason, undefined);
    const { createTime, startTime, endTime } = done.events;
    assertUnixSeconds(startTime, 'startTime');
    assertUnixSeconds(endTime, 'endTime');
    assert.ok(createTime <= startTime && startTime <= endTime, JSON.stringify(done.events));
    assert.match(done.execution?.site ?? '', /^local:(podman|docker)$/);
    const task = done.execution?.tasks?.[0];
    assert.ok(task !== undefined, `no execution.tasks: ${JSON.stringify(done.execution)}`);
    assert.equal(done.execution?.tasks?.length, 1);
    assert.equal(task.exitCode, 0);
    // The stand-in image was built into the engine beforehand, so no pull was needed.
    assert.equal(task.imagePullStatus, 'cached');
    assert.equal(typeof task.wallTimeUsage, 'number');
    assert.ok((task.wallTimeUsage ?? -1) >= 0 && (task.wallTimeUsage ?? 99) < 60);
    assert.equal(task.retries, 0);

    // Act: the lists once it finished.
    const activeAfter = await api.list();
    const completed = await api.list('?completed=true&num=5');
    const lastCompleted = await api.list('?completed=true');

    // Assess: it left the active list and is the most recent finished job.
    assert.equal(
      activeAfter.some((job) => job.id === id),
      false,
    );
    const finished = completed.find((job) => job.id === id);
    assert.ok(finished !== undefined, `completed=true&num=5 left out ${id}`);
    assert.equal(finished.status, 'completed');
    assert.deepEqual(finished.events, done.events);
    // List entries are summaries: no resources or execution (spec §5.1).
    assert.equal(finished.resources, undefined);
    assert.equal(finished.execution, undefined);
    assert.deepEqual(
      lastCompleted.map((job) => job.id),
      [id],
    );

    // Act: curl .../jobs/N/stdout and .../stderr
    const stdout = await api.output(id, 'stdout');
    const stderr = await api.output(id, 'stderr');

    // Assess
    assert.equal(stdout, `${PI_100_DECIMALS}\n`);
    assert.equal(stderr, '');
  });

  it('deletes an active job: 200 {} and the job shows deleted by user', async () => {
    // Prepare
    const id = await api.submit(busyboxJob('to-delete', 'sleep 300'));
    await api.waitForRunning(id);

    // Act: curl -i -X DELETE .../jobs/N
    const deleted = await api.request('DELETE', `/jobs/${id}`);
    const after = await api.describe(id);
    const again = await api.request('DELETE', `/jobs/${id}`);

    // Assess
    assert.equal(deleted.status, 200, deleted.text);
    assert.match(deleted.contentType, /^application\/json/);
    assert.deepEqual(deleted.json(), {});
    assert.ok(after !== undefined);
    assert.equal(after.status, 'deleted');
    assert.equal(after.statusReason, 'Job deleted by user');
    assertUnixSeconds(after.events.endTime, 'endTime');
    assert.equal(
      (await api.list()).some((job: JobView) => job.id === id),
      false,
    );
    const finished = (await api.list('?completed=true&num=5')).find((job) => job.id === id);
    assert.equal(finished?.status, 'deleted');
    assert.equal(finished?.statusReason, 'Job deleted by user');
    // Finished and out of the queue: a second delete finds nothing to delete (spec §3.4).
    assert.equal(again.status, 400, again.text);
    assert.deepEqual(again.json(), { error: 'No such job(s)' });
  });
});
