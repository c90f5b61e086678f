import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DockerClient, isNotFound } from '../../adapters/docker/docker-client';
import { DockerTaskRunner } from '../../adapters/docker/docker-task-runner';
import { ImagePullError, TaskRunnerError } from '../../core/src/errors';
import { createLogger } from '../../core/src/logger';
import type { LogSink, TaskLaunch, TaskOutput } from '../../core/src/ports';
import { type ContainerEngine, connectContainerEngine } from '../../local/src/container-engine';
import { BUSYBOX_IMAGE, ensureTestImages, PI_100_DECIMALS } from '../helpers/test-images';

class MemorySink implements LogSink {
  private readonly chunks: Buffer[] = [];

  async write(chunk: Buffer): Promise<void> {
    this.chunks.push(Buffer.from(chunk));
  }

  async close(): Promise<void> {}

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

function memoryOutput(): TaskOutput & { stdout: MemorySink; stderr: MemorySink } {
  return { stdout: new MemorySink(), stderr: new MemorySink() };
}

// Job ids far from any real ones, and random, so that runs sharing one engine do not collide.
const firstJobId = 900_000_000 + Math.floor(Math.random() * 1_000_000) * 100;
let nextJobId = firstJobId;

function launch(overrides: Partial<TaskLaunch> = {}): TaskLaunch {
  return {
    jobId: nextJobId++,
    taskIndex: 0,
    taskAttempt: 1,
    image: BUSYBOX_IMAGE,
    env: {},
    workdir: '/home/user',
    cpus: 1,
    memoryMiB: 256,
    ...overrides,
  };
}

describe('DockerTaskRunner against a real engine', () => {
  const logger = createLogger('docker-task-runner-test');
  let dataDir: string;
  let engine: ContainerEngine;
  let client: DockerClient;
  let runner: DockerTaskRunner;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'flare-engine-'));
    engine = await connectContainerEngine({ dataDir, logger });
    client = new DockerClient(engine);
    await ensureTestImages(client);
    runner = new DockerTaskRunner({ client, logger, pullTimeoutSeconds: 60 });
  });

  after(async () => {
    for (let jobId = firstJobId; jobId < nextJobId; jobId += 1) await runner?.release(jobId);
    await engine?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('reports the engine and its size', async () => {
    // Act
    const capacity = await runner.capacity();

    // Assess
    assert.equal(capacity.site, `local:${engine.engineName}`);
    assert.ok(capacity.cpus >= 1);
    assert.ok(capacity.memoryMiB >= 64);
  });

  it('finds a present image in the cache without pulling it', async () => {
    // Act
    const ready = await runner.prepareImage(BUSYBOX_IMAGE, undefined);

    // Assess
    assert.equal(ready.status, 'cached');
    assert.equal(ready.pullTimeSeconds, undefined);
    assert.match(ready.imageSha256 ?? '', /^[0-9a-f]{64}$/);
  });

  it('fails fast with ImagePullError for an image that cannot be pulled', async () => {
    // Prepare
    const startedMs = Date.now();

    // Act
    const preparing = runner.prepareImage('localhost/flare-test/missing:latest', undefined);

    // Assess
    await assert.rejects(preparing, ImagePullError);
    assert.ok(Date.now() - startedMs < 15_000);
  });

  it('keeps stdout and stderr apart and returns the exit code', async (t) => {
    // Prepare
    const output = memoryOutput();
    const command = ['sh', '-c', 'echo out1; echo err1 >&2; echo out2; exit 3'];
    const startedMs = Date.now();

    // Act
    const handle = await runner.start(launch({ command }));
    const outcome = await runner.wait(handle, output);

    // Assess
    t.diagnostic(`start and wait of a trivial task took ${Date.now() - startedMs} ms`);
    assert.equal(output.stdout.text(), 'out1\nout2\n');
    assert.equal(output.stderr.text(), 'err1\n');
    assert.equal(outcome.exitCode, 3);
    assert.equal(outcome.oomKilled, false);
    assert.ok(outcome.wallTimeSeconds >= 0 && outcome.wallTimeSeconds < 10);
  });

  it('keeps every byte of a large output written just before the exit', async () => {
    // Prepare: Podman's log follow has been seen to end short of output like this.
    const output = memoryOutput();
    const bytes = 20_000_000;
    const command = ['sh', '-c', `head -c ${bytes} /dev/zero | tr '\\0' x; echo end >&2`];

    // Act
    const outcome = await runner.wait(await runner.start(launch({ command })), output);

    // Assess
    assert.equal(outcome.exitCode, 0);
    assert.equal(output.stdout.text().length, bytes);
    assert.equal(output.stderr.text(), 'end\n');
  });

  it('applies the environment and working directory', async () => {
    // Prepare
    const output = memoryOutput();
    const task = launch({
      command: ['sh', '-c', 'echo "$GREETING"; pwd'],
      env: { GREETING: 'hello world' },
      workdir: '/work/here',
    });

    // Act
    const outcome = await runner.wait(await runner.start(task), output);

    // Assess
    assert.equal(output.stdout.text(), 'hello world\n/work/here\n');
    assert.equal(outcome.exitCode, 0);
  });

  it('shares /home/user between the tasks of a job', async () => {
    // Prepare
    const jobId = nextJobId++;
    const write = launch({ jobId, command: ['sh', '-c', 'echo shared > /home/user/note'] });
    const read = launch({ jobId, taskIndex: 1, command: ['cat', '/home/user/note'] });
    const output = memoryOutput();

    // Act
    await runner.wait(await runner.start(write), memoryOutput());
    const outcome = await runner.wait(await runner.start(read), output);

    // Assess
    assert.equal(outcome.exitCode, 0);
    assert.equal(output.stdout.text(), 'shared\n');
  });

  it('follows a task that stays quiet for longer than the client deadline', async () => {
    // Prepare
    const impatient = new DockerClient({ ...engine, requestTimeoutMs: 1_000 });
    // The engine is named up front: under load its /version can take longer than 1 s too.
    const quietRunner = new DockerTaskRunner({
      client: impatient,
      logger,
      engineName: engine.engineName,
    });
    const output = memoryOutput();
    const task = launch({ command: ['sh', '-c', 'sleep 3; echo late'] });

    // Act
    const outcome = await quietRunner.wait(await quietRunner.start(task), output);

    // Assess
    assert.equal(outcome.exitCode, 0);
    assert.equal(output.stdout.text(), 'late\n');
  });

  it('stops a long task promptly and measures its usage', async () => {
    // Prepare
    const handle = await runner.start(launch({ command: ['sleep', '60'] }));
    const waiting = runner.wait(handle, memoryOutput());
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const startedMs = Date.now();

    // Act
    await runner.stop(handle, 1);
    const outcome = await waiting;

    // Assess
    assert.ok(Date.now() - startedMs < 5_000, 'stop took 5 s or more');
    assert.notEqual(outcome.exitCode, 0);
    assert.ok(outcome.cpuTimeSeconds !== undefined && outcome.cpuTimeSeconds >= 0);
    assert.ok(outcome.maxRssKB !== undefined && outcome.maxRssKB > 0);
  });

  it('stops waiting on abort and leaves the container running', async () => {
    // Prepare
    const handle = await runner.start(launch({ command: ['sleep', '60'] }));
    const controller = new AbortController();
    const waiting = runner.wait(handle, memoryOutput(), controller.signal);
    const startedMs = Date.now();

    // Act
    controller.abort();

    // Assess
    await assert.rejects(waiting, { name: 'AbortError' });
    assert.ok(Date.now() - startedMs < 1_000);
    const { body } = await client.call<{ State: { Running: boolean } }>(
      'GET',
      `/containers/${handle}/json`,
    );
    assert.equal(body.State.Running, true);
    await runner.stop(handle, 0);
  });

  it('returns the whole output of a container that already exited', async () => {
    // Prepare
    const command = ['sh', '-c', 'i=1; while [ $i -le 500 ]; do echo line $i; i=$((i+1)); done'];
    const handle = await runner.start(launch({ command }));
    await client.stream('POST', `/containers/${handle}/wait`).then((body) => body.resume());
    const output = memoryOutput();

    // Act
    const outcome = await runner.wait(handle, output);

    // Assess
    const lines = output.stdout.text().split('\n');
    assert.equal(lines.length, 501);
    assert.equal(lines[0], 'line 1');
    assert.equal(lines[499], 'line 500');
    assert.equal(outcome.exitCode, 0);
  });

  it('refuses to start a task whose command does not exist, leaving nothing behind', async () => {
    // Prepare
    const task = launch({ command: ['/no/such/command'] });

    // Act
    const starting = runner.start(task);

    // Assess
    await assert.rejects(starting, TaskRunnerError);
    assert.deepEqual(await runner.findTasks(task.jobId), []);
  });

  it('finds the tasks of a job and releases them with its volume', async () => {
    // Prepare
    const jobId = nextJobId++;
    const sleeper = await runner.start(launch({ jobId, command: ['sleep', '60'] }));
    const done = launch({ jobId, taskIndex: 1, taskAttempt: 2, command: ['true'] });
    await runner.wait(await runner.start(done), memoryOutput());

    // Act
    const found = await runner.findTasks(jobId);
    await runner.release(jobId);

    // Assess
    assert.deepEqual(
      found.map(({ taskIndex, taskAttempt, running }) => ({ taskIndex, taskAttempt, running })),
      [
        { taskIndex: 0, taskAttempt: 1, running: true },
        { taskIndex: 1, taskAttempt: 2, running: false },
      ],
    );
    assert.equal(found[0]?.handle, sleeper);
    assert.deepEqual(await runner.findTasks(jobId), []);
    await assert.rejects(client.call('GET', `/volumes/flare-job-${jobId}`), isNotFound);
  });

  it('runs eoscprominence/testpi, which prints pi to 100 decimals', async () => {
    // Prepare
    const image = 'eoscprominence/testpi';
    const output = memoryOutput();

    // Act
    const ready = await runner.prepareImage(image, undefined);
    const outcome = await runner.wait(await runner.start(launch({ image })), output);

    // Assess
    assert.equal(ready.status, 'cached');
    assert.equal(outcome.exitCode, 0);
    assert.equal(output.stdout.text(), `${PI_100_DECIMALS}\n`);
  });
});
