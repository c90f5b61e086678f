import { execFile, execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Logger } from '@aws-lambda-powertools/logger';
import { DockerClient, unlessNotFound } from '../../adapters/docker/docker-client';
import { type ContainerEngine, connectContainerEngine } from '../../local/src/container-engine';
import { cleanUpOnExit } from './exit-cleanup';
import { descendantsOf } from './process-tree';
import { ensureTestImages } from './test-images';

const run = promisify(execFile);

/** A container of a Flare job, as the engine lists it. */
export interface JobContainer {
  readonly id: string;
  readonly state: string;
}

/**
 * Container storage of its own for one test file, and an engine connection to it.
 *
 * Each Flare prefixes its containers and volumes with its own instance id, so services never
 * touch each other's jobs; private storage (CONTAINERS_STORAGE_CONF, inherited by the Podman
 * service Flare starts) also keeps the images and leftovers of one test file from another's,
 * and lets the clean-up remove everything in it. When DOCKER_HOST or a system socket
 * answers, Flare and this helper both use that shared engine instead.
 */
export class TestEngine {
  readonly client: DockerClient;
  /** What a Flare under test needs in its environment to use the same storage. */
  readonly env: Readonly<Record<string, string>>;
  readonly #rootDir: string;
  readonly #engine: ContainerEngine;
  readonly #forget: () => void;

  private constructor(rootDir: string, env: Record<string, string>, engine: ContainerEngine) {
    this.#rootDir = rootDir;
    this.env = env;
    this.#engine = engine;
    this.client = new DockerClient(engine);
    this.#forget = cleanUpOnExit(() => this.#disposeNow());
  }

  /** Makes the private storage and starts (or finds) an engine serving it. */
  static async start(): Promise<TestEngine> {
    const rootDir = await mkdtemp(join(tmpdir(), 'flare-e2e-engine-'));
    const env = await privateStorageEnv(rootDir);
    try {
      const engine = await connectContainerEngine({
        dataDir: join(rootDir, 'engine'),
        logger: new Logger({ serviceName: 'flare-e2e-engine', logLevel: 'WARN' }),
        env: { ...process.env, ...env },
      });
      return new TestEngine(rootDir, env, engine);
    } catch (error) {
      await rm(rootDir, { recursive: true, force: true });
      throw error;
    }
  }

  /** The busybox and testpi stand-in images, built into this storage. */
  buildTestImages(): Promise<void> {
    return ensureTestImages(this.client);
  }

  /** The containers labelled with Flare job `jobId`; with `all`, stopped ones too. */
  async jobContainers(jobId: number, options: { all: boolean }): Promise<JobContainer[]> {
    const filters = JSON.stringify({ label: [`flare.job=${jobId}`] });
    const { body } = await this.client.call<{ Id: string; State: string }[]>(
      'GET',
      '/containers/json',
      { query: { all: options.all, filters } },
    );
    return body.map((container) => ({ id: container.Id, state: container.State }));
  }

  /** Removes every Flare job container and volume, stops the engine and deletes the storage. */
  async dispose(): Promise<void> {
    this.#forget();
    try {
      await this.#removeJobObjects();
    } finally {
      await this.#engine.close();
      await removeStorageDir(this.#rootDir);
    }
  }

  /**
   * `dispose` for a test process on its way out, when nothing asynchronous runs any more:
   * Podman's command line removes the containers, as the API would have.
   */
  #disposeNow(): void {
    const podmanDir = join(this.#rootDir, 'engine', 'podman');
    // Only a Podman started here serves the private storage; a shared engine is left alone.
    if (this.#engine.socketPath !== join(podmanDir, 'podman.sock')) return;
    const env = {
      ...process.env,
      ...this.env,
      CONTAINERS_CONF: process.env.CONTAINERS_CONF ?? join(podmanDir, 'containers.conf'),
    };
    try {
      execFileSync('podman', ['rm', '--all', '--force', '--time', '0'], {
        env,
        stdio: 'ignore',
        timeout: 30_000,
      });
    } finally {
      for (const entry of descendantsOf(process.pid)) {
        if (entry.command.includes(podmanDir)) process.kill(entry.pid, 'SIGKILL');
      }
      unmountUnderSync(this.#rootDir);
      rmSync(this.#rootDir, { recursive: true, force: true });
    }
  }

  async #removeJobObjects(): Promise<void> {
    const filters = JSON.stringify({ label: ['flare.job'] });
    const containers = await this.client.call<{ Id: string }[]>('GET', '/containers/json', {
      query: { all: true, filters },
    });
    for (const { Id } of containers.body) {
      const removal = this.client.call('DELETE', `/containers/${Id}`, {
        query: { force: true, v: true },
      });
      await unlessNotFound(removal);
    }
    const volumes = await this.client.call<{ Volumes: { Name: string }[] | null }>(
      'GET',
      '/volumes',
      { query: { filters } },
    );
    for (const { Name } of volumes.body.Volumes ?? []) {
      await unlessNotFound(
        this.client.call('DELETE', `/volumes/${Name}`, { query: { force: true } }),
      );
    }
  }
}

/**
 * Writes a storage.conf that keeps container storage under `rootDir` and returns the
 * environment that points Podman at it. The driver is left for Podman to pick, as usual.
 */
export async function privateStorageEnv(
  rootDir: string,
): Promise<{ readonly CONTAINERS_STORAGE_CONF: string }> {
  const path = join(rootDir, 'storage.conf');
  const conf = [
    '[storage]',
    `graphroot = "${join(rootDir, 'graph')}"`,
    `runroot = "${join(rootDir, 'run')}"`,
    '',
  ].join('\n');
  await writeFile(path, conf);
  return { CONTAINERS_STORAGE_CONF: path };
}

/** Removes a directory that held container storage, once no engine uses it. */
export async function removeStorageDir(dir: string): Promise<void> {
  await unmountUnder(dir);
  await rm(dir, { recursive: true, force: true });
}

/**
 * Podman's overlay driver bind-mounts its own directory and leaves that mount in place when
 * its service ends (a killed one may leave more); a tree with a mount in it cannot be
 * removed, so each is lazily unmounted first.
 */
async function unmountUnder(dir: string): Promise<void> {
  for (const point of mountPointsUnder(dir, await readFile('/proc/self/mountinfo', 'utf8'))) {
    await run('umount', ['-l', point]).catch(() => undefined);
  }
}

function unmountUnderSync(dir: string): void {
  for (const point of mountPointsUnder(dir, readFileSync('/proc/self/mountinfo', 'utf8'))) {
    try {
      execFileSync('umount', ['-l', point], { stdio: 'ignore' });
    } catch {
      // Already gone, or not ours to unmount: the removal below reports what is left.
    }
  }
}

/** The mount points at or below `dir`, deepest first. */
function mountPointsUnder(dir: string, mountInfo: string): string[] {
  return mountInfo
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((point) => point === dir || point.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}
