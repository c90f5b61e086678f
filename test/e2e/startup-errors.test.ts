import assert from 'node:assert/strict';
import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DockerClient } from '../../adapters/docker/docker-client';
import { type FinishedRun, freePort, runFlareUntilExit } from '../helpers/flare-process';
import { privateStorageEnv, removeStorageDir } from '../helpers/test-engine';

/** A line of a JavaScript stack trace, as node prints them. */
const STACK_LINE = /^\s+at .+/m;

/** Asserts the one-line failure that a person can act on, and nothing that looks like a crash. */
function assertOneLineFailure(run: FinishedRun, expected: RegExp): void {
  const lines = run.stderr.split('\n').filter((line) => line.trim() !== '');
  assert.equal(run.code, 1, `exit ${run.code}/${run.signal}; stderr: ${run.stderr}`);
  assert.equal(lines.length, 1, `stderr should be one line, got:\n${run.stderr}`);
  assert.match(lines[0] ?? '', expected);
  assert.doesNotMatch(run.stderr, STACK_LINE);
  assert.doesNotMatch(run.stdout, STACK_LINE);
  assert.deepEqual(run.leftovers, [], 'processes outlived the failed start');
}

/** The sockets Flare probes before starting Podman itself. */
async function answeringSystemSocket(): Promise<string | undefined> {
  const candidates = ['/var/run/docker.sock', '/run/podman/podman.sock'];
  if (process.env.XDG_RUNTIME_DIR) {
    candidates.push(join(process.env.XDG_RUNTIME_DIR, 'podman', 'podman.sock'));
  }
  for (const socketPath of candidates) {
    if (await new DockerClient({ socketPath }).ping()) return socketPath;
  }
  return undefined;
}

describe('Flare refusing to start', () => {
  let scratch: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'flare-e2e-startup-'));
    // Private container storage, as in the other files: a start that gets as far as Podman
    // must not touch the storage that other Flares on this machine use.
    env = {
      ...process.env,
      ...(await privateStorageEnv(scratch)),
      FLARE_DATA_DIR: join(scratch, 'data'),
    };
  });

  after(async () => {
    await removeStorageDir(scratch);
  });

  it('exits 1 with one line naming the port when the port is in use', async () => {
    // Prepare
    const port = await freePort();
    const holder: Server = createServer();
    await new Promise<void>((resolve) => holder.listen(port, '127.0.0.1', resolve));

    // Act
    const run = await runFlareUntilExit({ ...env, PORT: String(port) }).finally(
      () => new Promise((resolve) => holder.close(resolve)),
    );

    // Assess
    assertOneLineFailure(run, new RegExp(`^flare: .*\\b${port}\\b.*in use`, 'i'));
  });

  it('exits 1 with one line when the data directory cannot be written', async () => {
    // Prepare: even root cannot make a directory inside a regular file.
    const file = join(scratch, 'a-regular-file');
    await writeFile(file, 'not a directory');
    const dataDir = join(file, 'data');

    // Act
    const run = await runFlareUntilExit({ ...env, FLARE_DATA_DIR: dataDir, PORT: '0' });

    // Assess
    assertOneLineFailure(run, new RegExp(`^flare: .*${dataDir}.*not writable`));
  });

  it('exits 1 with one line when no container engine can be found', async (t) => {
    // Prepare: a PATH with node and sh (npx and npm need them) but no podman or docker.
    const system = await answeringSystemSocket();
    if (system !== undefined) {
      t.skip(`an engine answers on ${system}; the DOCKER_HOST test covers this machine`);
      return;
    }
    const binDir = join(scratch, 'bin-without-engines');
    await mkdir(binDir);
    await symlink(process.execPath, join(binDir, 'node'));
    await symlink('/bin/sh', join(binDir, 'sh'));
    const { DOCKER_HOST: _host, XDG_RUNTIME_DIR: _runtime, ...rest } = env;
    const npx = join(dirname(process.execPath), 'npx');

    // Act
    const run = await runFlareUntilExit({ ...rest, PATH: binDir, PORT: '0' }, { command: npx });

    // Assess
    assertOneLineFailure(run, /^flare: No container engine found/);
  });

  it('exits 1 with one line when DOCKER_HOST names an engine that does not answer', async () => {
    // Prepare
    const dead = join(scratch, 'no-engine-here.sock');
    const dockerHost = `unix://${dead}`;

    // Act
    const run = await runFlareUntilExit({ ...env, DOCKER_HOST: dockerHost, PORT: '0' });

    // Assess
    assertOneLineFailure(
      run,
      new RegExp(`^flare: DOCKER_HOST \\(${dockerHost}\\) does not answer`),
    );
  });

  it('exits 1 with one line when a setting is out of range', async () => {
    // Act
    const run = await runFlareUntilExit({ ...env, PORT: '99999' });

    // Assess
    assertOneLineFailure(run, /^flare: PORT must be an integer from 0 to 65535 \(got 99999\)$/);
  });
});
