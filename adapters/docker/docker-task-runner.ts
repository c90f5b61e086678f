import { text } from 'node:stream/consumers';
import { setTimeout as sleep } from 'node:timers/promises';
import { TaskRunnerError } from '../../core/src/errors';
import type { ImagePullCredential } from '../../core/src/job-types';
import type { Logger } from '../../core/src/logger';
import type {
  FoundTask,
  ImageReady,
  LogStream,
  RunnerCapacity,
  TaskLaunch,
  TaskOutcome,
  TaskOutput,
  TaskRunner,
} from '../../core/src/ports';
import { type DockerClient, detectEngineName, unlessNotFound } from './docker-client';
import { ImageStore, resolveImageName } from './docker-images';
import { demuxInto } from './log-demux';

export interface DockerTaskRunnerOptions {
  readonly client: DockerClient;
  readonly logger: Logger;
  /**
   * Names this Flare's containers, volumes and labels, so that two services sharing an
   * engine never touch each other's jobs. Default 'flare'.
   */
  readonly instance?: string;
  /** Longest an image pull may take. Default 600 (10 minutes). */
  readonly pullTimeoutSeconds?: number;
  /** Which engine serves the API, when the caller knows; else it is asked once. */
  readonly engineName?: 'docker' | 'podman';
  /** How often a running task's usage is sampled. Default 1000. */
  readonly statsIntervalMs?: number;
}

/** Where each task finds the home that the tasks of its job share. */
const HOME_MOUNT = '/home/user';
const MIB = 1024 * 1024;
/** The longest a timer can wait: in effect, no deadline. */
const FOLLOW_HEADERS_TIMEOUT_MS = 2 ** 31 - 1;
/** How long the log stream may lag behind the container's exit before it is read afresh. */
const LOG_DRAIN_MS = 1_000;

interface ContainerState {
  readonly Status: string;
  readonly Running: boolean;
  readonly ExitCode: number;
  readonly OOMKilled: boolean;
  readonly StartedAt: string;
  readonly FinishedAt: string;
}

interface StatsSample {
  readonly cpu_stats?: { readonly cpu_usage?: { readonly total_usage?: number } };
  readonly memory_stats?: { readonly usage?: number; readonly max_usage?: number };
}

interface ContainerSummary {
  readonly Id: string;
  readonly State: string;
  readonly Labels?: Readonly<Record<string, string>>;
}

interface Usage {
  cpuNs?: number;
  maxMemoryBytes?: number;
}

export const jobVolumeName = (instance: string, jobId: number): string =>
  `${instance}-job-${jobId}`;

export const taskContainerName = (instance: string, launch: TaskLaunch): string =>
  `${instance}-job-${launch.jobId}-task-${launch.taskIndex}-${launch.taskAttempt}`;

/** Runs tasks as containers on a Docker Engine API: Docker itself, or Podman's compat API. */
export class DockerTaskRunner implements TaskRunner {
  private readonly client: DockerClient;
  private readonly logger: Logger;
  private readonly statsIntervalMs: number;
  private readonly instance: string;
  private readonly images: ImageStore;
  private engineName: Promise<'docker' | 'podman'> | undefined;
  private capacityCache: { value: RunnerCapacity; readAtMs: number } | undefined;

  constructor(options: DockerTaskRunnerOptions) {
    this.client = options.client;
    this.instance = options.instance ?? 'flare';
    if (options.engineName !== undefined) this.engineName = Promise.resolve(options.engineName);
    this.images = new ImageStore(options.client, options.logger, options.pullTimeoutSeconds);
    this.logger = options.logger;
    this.statsIntervalMs = options.statsIntervalMs ?? 1000;
  }

  /**
   * The engine's size, read at most once a minute: Podman takes a few hundred ms to answer
   * `/info` and `/version`, which would otherwise sit between every claim and its start.
   */
  async capacity(signal?: AbortSignal): Promise<RunnerCapacity> {
    const nowMs = Date.now();
    if (this.capacityCache === undefined || this.capacityCache.readAtMs < nowMs - 60_000) {
      const [info, engineName] = await Promise.all([
        this.client.call<{ NCPU: number; MemTotal: number }>('GET', '/info', { signal }),
        this.detectEngine(),
      ]);
      const memoryMiB = Math.floor(info.body.MemTotal / MIB);
      const value = { site: `local:${engineName}`, cpus: info.body.NCPU, memoryMiB };
      this.capacityCache = { value, readAtMs: nowMs };
    }
    return this.capacityCache.value;
  }

  /** Asked once for the runner's life, with no caller's signal that could cut it short. */
  private detectEngine(): Promise<'docker' | 'podman'> {
    this.engineName ??= detectEngineName(this.client).catch((error: unknown) => {
      this.engineName = undefined;
      throw error;
    });
    return this.engineName;
  }

  prepareImage(
    image: string,
    credential: ImagePullCredential | undefined,
    signal?: AbortSignal,
  ): Promise<ImageReady> {
    return this.images.prepare(image, credential, signal);
  }

  async start(launch: TaskLaunch, signal?: AbortSignal): Promise<string> {
    const volume = jobVolumeName(this.instance, launch.jobId);
    const name = taskContainerName(this.instance, launch);
    const labels = {
      'flare.instance': this.instance,
      'flare.job': String(launch.jobId),
      'flare.task': String(launch.taskIndex),
      'flare.attempt': String(launch.taskAttempt),
    };
    // Creating a volume that exists is a no-op on both engines, so each task may ask.
    await this.client.call('POST', '/volumes/create', {
      body: {
        Name: volume,
        Labels: { 'flare.instance': this.instance, 'flare.job': labels['flare.job'] },
      },
      signal,
    });
    // A container of this name is left from a run of this very attempt that was cut short.
    await this.removeContainer(name, signal);

    const memoryBytes = Math.round(launch.memoryMiB * MIB);
    const created = await this.client.call<{ Id: string }>('POST', '/containers/create', {
      query: { name },
      body: {
        Image: resolveImageName(launch.image),
        ...(launch.command ? { Cmd: [...launch.command] } : {}),
        Env: Object.entries(launch.env).map(([key, value]) => `${key}=${value}`),
        ...(launch.workdir ? { WorkingDir: launch.workdir } : {}),
        Labels: labels,
        Tty: false,
        HostConfig: {
          NanoCpus: Math.round(launch.cpus * 1e9),
          Memory: memoryBytes,
          // Equal to Memory so that the limit cannot be stretched with swap.
          MemorySwap: memoryBytes,
          Binds: [`${volume}:${HOME_MOUNT}`],
        },
      },
      signal,
    });
    const handle = created.body.Id;
    try {
      await this.client.call('POST', `/containers/${handle}/start`, { signal });
    } catch (error) {
      // Left behind, a never-started container would look like a task to resume.
      await this.removeContainer(handle).catch(() => undefined);
      throw error;
    }
    this.logger.debug('task container started', { jobId: launch.jobId, handle });
    return handle;
  }

  async wait(handle: string, output: TaskOutput, signal?: AbortSignal): Promise<TaskOutcome> {
    const usage: Usage = {};
    const written: Record<LogStream, number> = { stdout: 0, stderr: 0 };
    const finished = new AbortController();
    const inner = signal ? AbortSignal.any([signal, finished.signal]) : finished.signal;
    const sampler = this.sampleUsage(handle, usage, inner);
    try {
      const exited = this.exitedState(handle, inner);
      const followed = this.copyLogs(handle, output, written, true, inner);
      // The log stream tends to end before the engine's wait answers, so its end is checked
      // too. Either failing fails the wait; the exit does not end it, so the stream can drain.
      let logsEndedEarly = false;
      const afterLogs = followed.then(async () => {
        const state = await this.inspectState(handle, inner);
        logsEndedEarly = state.Running;
        return state.Running ? exited : state;
      });
      const state = await Promise.race([exited, afterLogs]);
      const drained = await Promise.race([
        followed.then(() => true),
        sleep(LOG_DRAIN_MS, false, { ref: false }),
      ]);
      // Settles `logsEndedEarly` when the exit was seen first; it is one inspection away.
      if (drained) await afterLogs.catch(() => undefined);
      // Podman's follow at times misses the exit of a container that ended very quickly.
      if (!drained || logsEndedEarly) {
        this.logger.warn('task log stream and container ended apart', { handle });
        finished.abort();
        await followed.catch(() => undefined);
      }
      // Podman's follow can also end cleanly but short, with megabytes written just before
      // the exit missing. A last plain read, which skips what was already copied, completes
      // the output whatever the follow did.
      await this.copyLogs(handle, output, written, false, signal);
      return toOutcome(state, usage);
    } catch (error) {
      throw signal?.aborted ? signal.reason : error;
    } finally {
      finished.abort();
      await sampler;
    }
  }

  async stop(handle: string, graceSeconds: number): Promise<void> {
    // The engine answers once the container is down, so the deadline must outlast the grace.
    const stopping = this.client.call('POST', `/containers/${handle}/stop`, {
      query: { t: Math.max(0, Math.round(graceSeconds)) },
      timeoutMs: graceSeconds * 1000 + 30_000,
    });
    await unlessNotFound(stopping);
  }

  async findTasks(jobId: number, signal?: AbortSignal): Promise<FoundTask[]> {
    const found: FoundTask[] = [];
    for (const container of await this.listJobContainers(jobId, signal)) {
      const taskIndex = Number(container.Labels?.['flare.task']);
      const taskAttempt = Number(container.Labels?.['flare.attempt']);
      if (!Number.isInteger(taskIndex) || !Number.isInteger(taskAttempt)) continue;
      const running = container.State === 'running';
      found.push({ handle: container.Id, taskIndex, taskAttempt, running });
    }
    return found.sort((a, b) => a.taskIndex - b.taskIndex || a.taskAttempt - b.taskAttempt);
  }

  async release(jobId: number): Promise<void> {
    for (const container of await this.listJobContainers(jobId)) {
      await this.removeContainer(container.Id);
    }
    const volume = jobVolumeName(this.instance, jobId);
    await unlessNotFound(this.client.call('DELETE', `/volumes/${volume}`));
  }

  private async copyLogs(
    handle: string,
    output: TaskOutput,
    written: Record<LogStream, number>,
    follow: boolean,
    signal?: AbortSignal,
  ): Promise<void> {
    const logs = await this.client.stream('GET', `/containers/${handle}/logs`, {
      query: { follow: follow ? 1 : 0, stdout: 1, stderr: 1 },
      signal,
      // Podman sends a follow's headers only with the task's first output, so a task quiet for
      // longer than the usual deadline would fail; the caller's signal bounds the wait instead.
      ...(follow ? { timeoutMs: FOLLOW_HEADERS_TIMEOUT_MS } : {}),
    });
    const complete = await demuxInto(logs, output, written);
    if (!complete) this.logger.warn('task log stream ended mid-frame', { handle });
  }

  /** Waits for the container to stop running, and reads how it ended. */
  private async exitedState(handle: string, signal: AbortSignal): Promise<ContainerState> {
    // Podman's Docker-compatible wait polls the container without pause, a core's worth of
    // CPU for each running task; its own endpoint polls at the interval given.
    const [path, query] =
      (await this.detectEngine()) === 'podman'
        ? [
            `/libpod/containers/${handle}/wait`,
            { condition: ['stopped', 'exited'], interval: '250ms' },
          ]
        : [`/containers/${handle}/wait`, { condition: 'not-running' }];
    for (;;) {
      // Docker answers with headers at once and Podman's own endpoint only at the exit, so
      // the wait has no headers deadline: the caller's signal bounds it.
      const waiting = await this.client.stream('POST', path, {
        query,
        signal,
        timeoutMs: FOLLOW_HEADERS_TIMEOUT_MS,
      });
      await text(waiting);
      const state = await this.inspectState(handle, signal);
      if (!state.Running) return state;
    }
  }

  private async inspectState(handle: string, signal: AbortSignal): Promise<ContainerState> {
    const path = `/containers/${handle}/json`;
    const inspected = await this.client.call<{ State: ContainerState }>('GET', path, { signal });
    if (inspected.body.State.Status === 'created') {
      throw new TaskRunnerError(`Task container ${handle} was never started`);
    }
    return inspected.body.State;
  }

  /**
   * Keeps the last CPU total and the peak memory of a running container. Engines report
   * usage only while it runs, so a task shorter than one interval may have no sample, and the
   * CPU used after the last sample is not counted.
   */
  private async sampleUsage(handle: string, usage: Usage, signal: AbortSignal): Promise<void> {
    const path = `/containers/${handle}/stats`;
    const query = { stream: false, 'one-shot': true };
    while (!signal.aborted) {
      try {
        const sample = await this.client.call<StatsSample | string>('GET', path, {
          query,
          signal,
          timeoutMs: 5_000,
        });
        recordSample(sample.body, usage);
      } catch {
        // Stopped, exited or briefly busy: none of it is worth failing the task for.
      }
      await sleep(this.statsIntervalMs, undefined, { signal }).catch(() => undefined);
    }
  }

  private async listJobContainers(
    jobId: number,
    signal?: AbortSignal,
  ): Promise<ContainerSummary[]> {
    const label = [`flare.instance=${this.instance}`, `flare.job=${jobId}`];
    const query = { all: true, filters: JSON.stringify({ label }) };
    const listed = await this.client.call<ContainerSummary[]>('GET', '/containers/json', {
      query,
      signal,
    });
    return listed.body;
  }

  private async removeContainer(nameOrId: string, signal?: AbortSignal): Promise<void> {
    const query = { force: true, v: true };
    await unlessNotFound(this.client.call('DELETE', `/containers/${nameOrId}`, { query, signal }));
  }
}

function recordSample(body: StatsSample | string, usage: Usage): void {
  if (typeof body !== 'object') return;
  const cpuNs = body.cpu_stats?.cpu_usage?.total_usage;
  const memory = body.memory_stats;
  // An exited container may still answer, with empty memory figures: not a sample.
  if (typeof cpuNs !== 'number' || typeof memory?.usage !== 'number') return;
  usage.cpuNs = cpuNs;
  const peak = Math.max(memory.usage, memory.max_usage ?? 0);
  usage.maxMemoryBytes = Math.max(usage.maxMemoryBytes ?? 0, peak);
}

function toOutcome(state: ContainerState, usage: Usage): TaskOutcome {
  const wallMs = Date.parse(state.FinishedAt) - Date.parse(state.StartedAt);
  return {
    exitCode: state.ExitCode,
    wallTimeSeconds: Number.isFinite(wallMs) ? Math.max(0, wallMs) / 1000 : 0,
    ...(usage.cpuNs !== undefined ? { cpuTimeSeconds: usage.cpuNs / 1e9 } : {}),
    ...(usage.maxMemoryBytes !== undefined
      ? { maxRssKB: Math.round(usage.maxMemoryBytes / 1024) }
      : {}),
    oomKilled: state.OOMKilled,
  };
}
