import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { access, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DockerClient, detectEngineName } from '../../adapters/docker/docker-client';
import { StartupError } from '../../core/src/errors';
import type { Logger } from '../../core/src/logger';

export interface ContainerEngineOptions {
  /** Flare's data directory; a Podman service started here keeps its files in `podman/`. */
  readonly dataDir: string;
  readonly logger: Logger;
  /** Where DOCKER_HOST, XDG_RUNTIME_DIR, PATH and CONTAINERS_CONF are read. Default process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** How long a started Podman service may take to answer. Default 15000. */
  readonly serviceStartTimeoutMs?: number;
}

/** A reachable Docker Engine API; pass it to `new DockerClient(engine)`. */
export interface ContainerEngine {
  /** The engine's unix socket; absent when `dockerHost` says where it is. */
  readonly socketPath?: string;
  /** DOCKER_HOST as given, when it was set. */
  readonly dockerHost?: string;
  readonly engineName: 'docker' | 'podman';
  /** Stops the Podman service if this call started it; otherwise does nothing. */
  close(): Promise<void>;
}

/**
 * Podman needs both settings on this kind of host: crun cannot drive cgroup v1, and the
 * default rlimits that Podman asks for are refused inside some sandboxes.
 */
const PODMAN_CONF = '[containers]\ndefault_ulimits = []\n[engine]\nruntime = "runc"\n';

const NO_ENGINE =
  'No container engine found: install Docker or Podman, or set DOCKER_HOST to a running engine';

/**
 * Finds a container engine, in this order: DOCKER_HOST; a Docker or Podman socket that
 * answers; a Podman service started for Flare under `dataDir`.
 */
export async function connectContainerEngine(
  options: ContainerEngineOptions,
): Promise<ContainerEngine> {
  const env = options.env ?? process.env;
  if (env.DOCKER_HOST) {
    const dockerHost = env.DOCKER_HOST;
    const client = dockerHostClient(dockerHost);
    if (!(await client.ping())) {
      throw new StartupError(`DOCKER_HOST (${dockerHost}) does not answer; start that engine`);
    }
    const engineName = await detectEngineName(client);
    options.logger.info('container engine found', { dockerHost, engineName });
    return { dockerHost, engineName, close: async () => {} };
  }

  const found = await findAnsweringSocket(env);
  if (found) {
    options.logger.info('container engine found', found);
    return { ...found, close: async () => {} };
  }

  const podman = await findOnPath('podman', env.PATH ?? '');
  if (!podman) throw new StartupError(NO_ENGINE);
  return startPodmanService(podman, options, env);
}

function dockerHostClient(dockerHost: string): DockerClient {
  try {
    return new DockerClient({ dockerHost });
  } catch (error) {
    // An unsupported scheme is a setting to fix before start, like any other.
    throw new StartupError(error instanceof Error ? error.message : String(error));
  }
}

async function findAnsweringSocket(
  env: Readonly<Record<string, string | undefined>>,
): Promise<{ socketPath: string; engineName: 'docker' | 'podman' } | undefined> {
  const candidates = ['/var/run/docker.sock', '/run/podman/podman.sock'];
  if (env.XDG_RUNTIME_DIR) candidates.push(join(env.XDG_RUNTIME_DIR, 'podman', 'podman.sock'));
  for (const socketPath of candidates) {
    const client = new DockerClient({ socketPath });
    if (await client.ping()) return { socketPath, engineName: await detectEngineName(client) };
  }
  return undefined;
}

async function findOnPath(binary: string, path: string): Promise<string | undefined> {
  for (const dir of path.split(delimiter).filter(Boolean)) {
    const candidate = join(dir, binary);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not in this directory; try the next.
    }
  }
  return undefined;
}

async function startPodmanService(
  podman: string,
  options: ContainerEngineOptions,
  env: Readonly<Record<string, string | undefined>>,
): Promise<ContainerEngine> {
  const dir = join(options.dataDir, 'podman');
  const socketPath = join(dir, 'podman.sock');
  const logFile = join(dir, 'service.log');
  const pidFile = join(dir, 'service.pid');
  await mkdir(dir, { recursive: true });
  const client = new DockerClient({ socketPath });

  // A service left running by an earlier Flare that did not shut down cleanly: adopt it,
  // so that this Flare's stop ends it as if it had started it.
  if (await client.ping()) {
    const pid = await readPid(pidFile);
    options.logger.warn('reusing podman service', { socketPath, pid });
    return { socketPath, engineName: 'podman', close: () => stopAdopted(pid) };
  }
  await rm(socketPath, { force: true });

  let containersConf = env.CONTAINERS_CONF;
  if (!containersConf) {
    containersConf = join(dir, 'containers.conf');
    await writeFile(containersConf, PODMAN_CONF);
  }
  const logFd = openSync(logFile, 'a');
  const child = spawn(podman, ['system', 'service', '--time=0', `unix://${socketPath}`], {
    env: { ...env, CONTAINERS_CONF: containersConf },
    stdio: ['ignore', logFd, logFd],
  });
  closeSync(logFd);
  // Without a listener, a failed spawn would crash the process instead of being reported.
  let spawnFailed = false;
  child.once('error', (error) => {
    spawnFailed = true;
    options.logger.error('podman service failed', { error });
  });

  const startedMs = Date.now();
  const gone = (): boolean => spawnFailed || hasExited(child);
  const ready = await waitUntilAnswering(client, gone, options.serviceStartTimeoutMs ?? 15_000);
  if (!ready) {
    await stopChild(child);
    throw new StartupError(`Podman service did not start; see ${logFile}`);
  }
  await writeFile(pidFile, String(child.pid));
  options.logger.info('podman service started', {
    socketPath,
    pid: child.pid,
    startMs: Date.now() - startedMs,
  });
  return { socketPath, engineName: 'podman', close: () => stopChild(child) };
}

async function readPid(file: string): Promise<number | undefined> {
  const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
  return Number.isInteger(pid) && pid > 1 ? pid : undefined;
}

/** Ends an adopted service, if the pid still names a podman process. */
async function stopAdopted(pid: number | undefined): Promise<void> {
  if (pid === undefined) return;
  const command = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  if (!command.includes('podman')) return;
  signal(pid, 'SIGTERM');
  for (let waitedMs = 0; waitedMs < 5_000; waitedMs += 100) {
    if (!(await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => ''))) return;
    await sleep(100);
  }
  signal(pid, 'SIGKILL');
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Gone already: nothing to stop.
  }
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

async function waitUntilAnswering(
  client: DockerClient,
  gone: () => boolean,
  timeoutMs: number,
): Promise<boolean> {
  const deadlineMs = Date.now() + timeoutMs;
  while (Date.now() < deadlineMs) {
    if (gone()) return false;
    if (await client.ping(1_000)) return true;
    await sleep(100);
  }
  return false;
}

/** SIGTERM lets the service close its socket; SIGKILL follows if it does not go in 5 s. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || hasExited(child)) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(5_000, undefined, { ref: false })]);
  if (!hasExited(child)) {
    child.kill('SIGKILL');
    await exited;
  }
}
