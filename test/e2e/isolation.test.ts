import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ApiAnswer, busyboxJob, type FlareApi } from '../helpers/flare-api';
import { FlareProcess } from '../helpers/flare-process';
import { TestEngine } from '../helpers/test-engine';

/** An error answer: the status, and a body that is exactly `{"error": <message>}`. */
function assertError(answer: ApiAnswer, status: number, message: string | RegExp): void {
  assert.equal(answer.status, status, answer.text);
  assert.match(answer.contentType, /^application\/json/);
  const body = answer.json() as Record<string, unknown>;
  assert.deepEqual(Object.keys(body), ['error']);
  if (typeof message === 'string') assert.equal(body.error, message);
  else assert.match(String(body.error), message);
}

describe("one user's jobs, seen by another", () => {
  let engine: TestEngine | undefined;
  let flare: FlareProcess | undefined;
  let alice: FlareApi;
  let bob: FlareApi;
  let activeId: number;
  let finishedId: number;

  before(async () => {
    engine = await TestEngine.start();
    await engine.buildTestImages();
    flare = await FlareProcess.start({ env: engine.env });
    alice = flare.api(await flare.token('alice'));
    bob = flare.api(await flare.token('bob'));
    finishedId = await alice.submit(busyboxJob('alice-done', 'echo alice-secret'));
    activeId = await alice.submit(busyboxJob('alice-running', 'echo alice-running; sleep 300'));
    const finished = await alice.waitForEnd(finishedId);
    assert.equal(finished.status, 'completed');
    await alice.waitForRunning(activeId);
  });

  after(async () => {
    await flare?.dispose();
    await engine?.dispose();
  });

  it('describes neither job to the other user', async () => {
    // Act
    const active = await bob.request('GET', `/jobs/${activeId}`);
    const finished = await bob.request('GET', `/jobs/${finishedId}`);

    // Assess: exactly as for a job that does not exist.
    assert.equal(active.status, 200);
    assert.deepEqual(active.json(), []);
    assert.equal(finished.status, 200);
    assert.deepEqual(finished.json(), []);
  });

  it('lists none of them to the other user, and both to their owner', async () => {
    // Act
    const bobLists = [
      await bob.list(),
      await bob.list('?completed=true&num=-1'),
      await bob.list('?all'),
      await bob.list(`?id=${activeId},${finishedId}`),
    ];
    const aliceAll = await alice.list('?all');

    // Assess
    for (const listed of bobLists) assert.deepEqual(listed, []);
    assert.deepEqual(aliceAll.map((job) => job.id).sort(), [activeId, finishedId].sort());
  });

  it("refuses to delete another user's job, which goes on running", async () => {
    // Act
    const one = await bob.request('DELETE', `/jobs/${activeId}`);
    const several = await bob.request('DELETE', `/jobs?id=${activeId},${finishedId}`);
    // A wrongful delete shows in the status at once; a second lets its worker act on it too.
    await sleep(1000);
    const job = await alice.describe(activeId);

    // Assess
    assertError(one, 400, 'No such job(s)');
    assertError(several, 400, 'No such job(s)');
    assert.equal(job?.status, 'running');
    assert.equal(job?.statusReason, undefined);
  });

  it("refuses another user's stdout and stderr with 403", async () => {
    // Act
    const answers = [
      await bob.request('GET', `/jobs/${finishedId}/stdout`),
      await bob.request('GET', `/jobs/${finishedId}/stderr`),
      await bob.request('GET', `/jobs/${activeId}/stdout`),
    ];
    const missing = await bob.request('GET', `/jobs/${finishedId + 1000}/stdout`);
    const own = await alice.output(finishedId, 'stdout');

    // Assess: unlike describe, the log routes tell "not yours" from "no such job" (spec §2.2).
    for (const answer of answers) {
      assertError(answer, 403, 'Not authorised to access this job');
      assert.doesNotMatch(answer.text, /alice-(secret|running)/);
    }
    assertError(missing, 400, 'Job does not exist');
    assert.equal(own, 'alice-secret\n');
  });
});
