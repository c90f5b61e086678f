import { TaskRunnerError } from '../../core/src/errors';
import type { ImagePullCredential } from '../../core/src/job-types';
import type {
  FoundTask,
  ImageReady,
  RunnerCapacity,
  TaskLaunch,
  TaskOutcome,
  TaskOutput,
  TaskRunner,
} from '../../core/src/ports';

/** How one container of a fake task behaves. */
export interface RunScript {
  readonly stdout?: readonly string[];
  readonly stderr?: readonly string[];
  /** Default 0. */
  readonly exitCode?: number;
  /** The wall time the outcome reports, in seconds. Default 1. */
  readonly wallTimeSeconds?: number;
  readonly cpuTimeSeconds?: number;
  readonly maxRssKB?: number;
  /** Default false. */
  readonly oomKilled?: boolean;
  /** Real time between the container's start and its exit, in ms. Default 0. */
  readonly runMs?: number;
  /** The container runs until `stop` or `release` ends it. Default false. */
  readonly untilStopped?: boolean;
  /** The exit code a stopped container reports. Default 143 (SIGTERM). */
  readonly stoppedExitCode?: number;
  /** `wait` rejects with this error, as when the engine loses the container. */
  readonly waitError?: Error;
  /** `start` rejects with this error and starts nothing, as when the engine has no room. */
  readonly startError?: Error;
  /** The pull time the outcome reports, as an engine that pulls at the start does. */
  readonly imagePullSeconds?: number;
}

/** How the fake treats one image: its pull, and the containers started from it. */
export interface ImageScript extends RunScript {
  /** What `prepareImage` gives, or the error it throws. Default `{ status: 'cached' }`. */
  readonly pull?: ImageReady | Error;
  /** Real time a pull takes, in ms; an aborted pull rejects with the signal's reason. */
  readonly pullMs?: number;
  /** The n-th container started from the image takes `runs[n]` (the last one repeats). */
  readonly runs?: readonly RunScript[];
}

export interface PullCall {
  readonly image: string;
  readonly credential?: ImagePullCredential;
}

export interface StopCall {
  readonly handle: string;
  readonly graceSeconds: number;
}

export const FAKE_CAPACITY: RunnerCapacity = { site: 'local:fake', cpus: 4, memoryMiB: 8192 };

interface FakeContainer {
  readonly handle: string;
  readonly jobId: number;
  readonly taskIndex: number;
  readonly taskAttempt: number;
  readonly script: RunScript;
  readonly exited: Promise<TaskOutcome>;
  readonly exit: (outcome: TaskOutcome) => void;
  running: boolean;
  timer?: NodeJS.Timeout;
}

/**
 * A TaskRunner that runs nothing: each image has a script saying how its pull and its
 * containers go. Every call is recorded, and `until` lets a test wait for the run to reach
 * a point (a start, a wait) without sleeping.
 */
export class FakeTaskRunner implements TaskRunner {
  readonly pulls: PullCall[] = [];
  readonly starts: TaskLaunch[] = [];
  readonly waits: string[] = [];
  readonly stops: StopCall[] = [];
  readonly releases: number[] = [];
  readonly #capacity: RunnerCapacity;
  readonly #scripts = new Map<string, ImageScript>();
  readonly #startsByImage = new Map<string, number>();
  readonly #containers = new Map<string, FakeContainer>();
  readonly #listeners = new Set<() => void>();
  #nextHandle = 1;

  constructor(options: { readonly capacity?: RunnerCapacity } = {}) {
    this.#capacity = options.capacity ?? FAKE_CAPACITY;
  }

  /** Sets how `image` behaves; an image without a script pulls as cached and exits 0. */
  script(image: string, script: ImageScript): this {
    this.#scripts.set(image, script);
    return this;
  }

  /**
   * Puts a container on the engine as an earlier worker would have left it, so that a
   * takeover can find it. It runs `script` from now on.
   */
  seedTask(
    task: { readonly jobId: number; readonly taskIndex: number; readonly taskAttempt: number },
    script: RunScript,
    handle = `seeded-${this.#nextHandle++}`,
  ): string {
    this.#containers.set(handle, createContainer(handle, task, script));
    this.#schedule(handle);
    return handle;
  }

  /** Settles once `condition` holds, checking after every call the runner records. */
  until(condition: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (condition()) {
          this.#listeners.delete(check);
          resolve();
        }
      };
      this.#listeners.add(check);
      check();
    });
  }

  async capacity(signal?: AbortSignal): Promise<RunnerCapacity> {
    signal?.throwIfAborted();
    return this.#capacity;
  }

  async prepareImage(
    image: string,
    credential: ImagePullCredential | undefined,
    signal?: AbortSignal,
  ): Promise<ImageReady> {
    this.pulls.push({ image, ...(credential === undefined ? {} : { credential }) });
    this.#notify();
    const script = this.#scripts.get(image) ?? {};
    if (script.pullMs !== undefined) {
      await sleep(script.pullMs, signal);
    }
    if (script.pull instanceof Error) {
      throw script.pull;
    }
    return script.pull ?? { status: 'cached' };
  }

  async start(launch: TaskLaunch, signal?: AbortSignal): Promise<string> {
    signal?.throwIfAborted();
    this.starts.push(launch);
    const count = this.#startsByImage.get(launch.image) ?? 0;
    this.#startsByImage.set(launch.image, count + 1);
    const { runs, pull: _pull, pullMs: _pullMs, ...base } = this.#scripts.get(launch.image) ?? {};
    const script = { ...base, ...(runs?.[Math.min(count, runs.length - 1)] ?? {}) };
    if (script.startError !== undefined) {
      this.#notify();
      throw script.startError;
    }
    const { jobId, taskIndex, taskAttempt } = launch;
    const handle = `fake-${jobId}-${taskIndex}-${taskAttempt}-${this.#nextHandle++}`;
    this.#containers.set(handle, createContainer(handle, launch, script));
    this.#schedule(handle);
    this.#notify();
    return handle;
  }

  async wait(handle: string, output: TaskOutput, signal?: AbortSignal): Promise<TaskOutcome> {
    this.waits.push(handle);
    this.#notify();
    const container = this.#containers.get(handle);
    if (container === undefined) {
      throw new TaskRunnerError(`No container ${handle}`);
    }
    if (container.script.waitError !== undefined) {
      throw container.script.waitError;
    }
    // Like an engine's log endpoint, every wait copies the output from the container's start.
    for (const chunk of container.script.stdout ?? [])
      await output.stdout.write(Buffer.from(chunk));
    for (const chunk of container.script.stderr ?? [])
      await output.stderr.write(Buffer.from(chunk));
    return raceAbort(container.exited, signal);
  }

  async stop(handle: string, graceSeconds: number): Promise<void> {
    this.stops.push({ handle, graceSeconds });
    const container = this.#containers.get(handle);
    if (container?.running === true) {
      exitStopped(container);
    }
    this.#notify();
  }

  async findTasks(jobId: number, signal?: AbortSignal): Promise<FoundTask[]> {
    signal?.throwIfAborted();
    return [...this.#containers.values()]
      .filter((container) => container.jobId === jobId)
      .map(({ handle, taskIndex, taskAttempt, running }) => ({
        handle,
        taskIndex,
        taskAttempt,
        running,
      }));
  }

  async release(jobId: number): Promise<void> {
    this.releases.push(jobId);
    for (const container of [...this.#containers.values()]) {
      if (container.jobId !== jobId) continue;
      if (container.running) exitStopped(container);
      this.#containers.delete(container.handle);
    }
    this.#notify();
  }

  /** Whether the container is on the engine and has not exited. */
  isRunning(handle: string): boolean {
    return this.#containers.get(handle)?.running === true;
  }

  #schedule(handle: string): void {
    const container = this.#containers.get(handle);
    if (container === undefined || container.script.untilStopped === true) return;
    const exitNow = () => {
      container.running = false;
      container.exit(outcomeOf(container.script, container.script.exitCode ?? 0));
    };
    const runMs = container.script.runMs ?? 0;
    if (runMs === 0) exitNow();
    else container.timer = setTimeout(exitNow, runMs);
  }

  #notify(): void {
    for (const listener of [...this.#listeners]) listener();
  }
}

function createContainer(
  handle: string,
  task: { readonly jobId: number; readonly taskIndex: number; readonly taskAttempt: number },
  script: RunScript,
): FakeContainer {
  let exit: (outcome: TaskOutcome) => void = () => {};
  const exited = new Promise<TaskOutcome>((resolve) => {
    exit = resolve;
  });
  const { jobId, taskIndex, taskAttempt } = task;
  return { handle, jobId, taskIndex, taskAttempt, script, exited, exit, running: true };
}

function exitStopped(container: FakeContainer): void {
  clearTimeout(container.timer);
  container.running = false;
  container.exit(outcomeOf(container.script, container.script.stoppedExitCode ?? 143));
}

function outcomeOf(script: RunScript, exitCode: number): TaskOutcome {
  return {
    exitCode,
    wallTimeSeconds: script.wallTimeSeconds ?? 1,
    oomKilled: script.oomKilled ?? false,
    ...(script.cpuTimeSeconds === undefined ? {} : { cpuTimeSeconds: script.cpuTimeSeconds }),
    ...(script.maxRssKB === undefined ? {} : { maxRssKB: script.maxRssKB }),
    ...(script.imagePullSeconds === undefined ? {} : { imagePullSeconds: script.imagePullSeconds }),
  };
}

/** Settles as `promise` does, or rejects with the signal's reason once it is aborted. */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const aborted = () => reject(signal.reason);
    signal.addEventListener('abort', aborted, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', aborted));
  });
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const aborted = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', aborted);
      resolve();
    }, ms);
    if (signal?.aborted === true) aborted();
    else signal?.addEventListener('abort', aborted, { once: true });
  });
}
