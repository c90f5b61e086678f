import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { closeSync, openSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { cleanUpOnExit } from './exit-cleanup';
import { FlareApi } from './flare-api';
import { descendantsOf, groupMembers, signalGroup } from './process-tree';

const runFile = promisify(execFile);

/** The repository root: `npm start` runs from there. */
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** `npm start` without npm run's own layer; npx still adds npm exec, sh and tsx's launcher. */
const FLARE_COMMAND = ['npx', 'tsx', 'local/src/main.ts'] as const;
const ENTRY_POINT = 'local/src/main.ts';

/** How a process ended: its code, or the signal that ended it. */
export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface FlareProcessOptions {
  /** Added to the environment, after the test's own and before the settings set here. */
  readonly env?: Readonly<Record<string, string>>;
  /** Longest wait for `GET /health` to answer 204. Default 60000. */
  readonly startTimeoutMs?: number;
}

/**
 * Local Flare started as a user starts it, in its own process group, with a temporary data
 * directory and a free port, short leases and fast status polls. Its output goes to
 * `logFile`.
 */
export class FlareProcess {
  readonly rootDir: string;
  readonly dataDir: string;
  readonly logFile: string;
  readonly port: number;
  readonly apiUrl: string;
  readonly #env: NodeJS.ProcessEnv;
  readonly #startTimeoutMs: number;
  /** One process group per launch; a killed launch can leave its Podman service in it. */
  readonly #groups = new Set<number>();
  /** `dispose`, in short, if the test process goes before `dispose` could run. */
  readonly #forget = cleanUpOnExit(() => {
    this.#signalGroups('SIGKILL');
    if (process.env.FLARE_E2E_KEEP !== '1') rmSync(this.rootDir, { recursive: true, force: true });
  });
  #child: ChildProcess | undefined;
  #exited: Promise<ExitStatus> = Promise.resolve({ code: null, signal: null });

  private constructor(rootDir: string, port: number, options: FlareProcessOptions) {
    this.rootDir = rootDir;
    this.dataDir = join(rootDir, 'data');
    this.logFile = join(rootDir, 'flare.log');
    this.port = port;
    this.apiUrl = `http://127.0.0.1:${port}/api/v1`;
    this.#startTimeoutMs = options.startTimeoutMs ?? 60_000;
    this.#env = {
      ...process.env,
      ...options.env,
      FLARE_DATA_DIR: this.dataDir,
      PORT: String(port),
      FLARE_LEASE_SECONDS: '5',
      FLARE_STATUS_POLL_MS: '250',
    };
  }

  /** Starts Flare and resolves once its health check answers. */
  static async start(options: FlareProcessOptions = {}): Promise<FlareProcess> {
    const rootDir = await mkdtemp(join(tmpdir(), 'flare-e2e-'));
    const flare = new FlareProcess(rootDir, await freePort(), options);
    try {
      await flare.#launch();
    } catch (error) {
      await flare.dispose();
      throw error;
    }
    return flare;
  }

  get running(): boolean {
    const child = this.#child;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  /** An API client, with `token` as its bearer token when given. */
  api(token?: string): FlareApi {
    return new FlareApi(this.apiUrl, token);
  }

  /** A bearer token for `user`, printed by the token command with this data directory. */
  token(user: string): Promise<string> {
    return issueToken(this.dataDir, user);
  }

  /**
   * SIGTERM to the service's node process, as a supervisor stops it; resolves with how the
   * launch ended. Not to the launcher: npm exec passes signals to its `sh -c`, which does not
   * pass them on, so Flare would never hear of it.
   */
  async stop(timeoutMs = 30_000): Promise<ExitStatus> {
    if (!this.running) return this.#exited;
    this.#signalService('SIGTERM');
    return this.#waitForExit(timeoutMs);
  }

  /**
   * SIGKILL to the service's node process only, like a worker host losing the process
   * mid-job: the Podman service it started and the containers it runs live on.
   */
  async kill(): Promise<ExitStatus> {
    if (!this.running) return this.#exited;
    this.#signalService('SIGKILL');
    return this.#waitForExit(30_000);
  }

  /** Stops Flare if it runs, then starts it again on the same data directory and port. */
  async restart(): Promise<void> {
    if (this.running) {
      const status = await this.stop();
      if (status.code !== 0) throw new Error(`Flare stopped with ${describeExit(status)}`);
    }
    await this.#launch();
  }

  /**
   * Processes left in the launches' process groups, e.g. a Podman service outliving a kill;
   * with `lastLaunchOnly`, only those of the latest launch.
   */
  leftoverProcesses(options: { readonly lastLaunchOnly?: boolean } = {}): string[] {
    const groups = [...this.#groups];
    const chosen = options.lastLaunchOnly === true ? groups.slice(-1) : groups;
    return chosen.flatMap((pgid) =>
      groupMembers(pgid).map((member) => `${member.pid} ${member.command}`),
    );
  }

  /** The end of Flare's output, for failure messages. */
  async logTail(lines = 40): Promise<string> {
    const text = await readFile(this.logFile, 'utf8').catch(() => '');
    return text.split('\n').slice(-lines).join('\n');
  }

  /**
   * Stops Flare (kills it if it does not stop), ends what it left and removes its files,
   * unless FLARE_E2E_KEEP=1 asks to keep them for a look at its log.
   */
  async dispose(): Promise<void> {
    try {
      if (this.running) {
        await this.stop().catch(() => this.#signalGroups('SIGKILL'));
      }
    } finally {
      this.#signalGroups('SIGTERM');
      await waitUntil(() => this.leftoverProcesses().length === 0, 5_000);
      this.#signalGroups('SIGKILL');
      this.#forget();
      if (process.env.FLARE_E2E_KEEP === '1') {
        process.stderr.write(`flare e2e: kept ${this.rootDir} (flare.log, data/)\n`);
      } else {
        await rm(this.rootDir, { recursive: true, force: true });
      }
    }
  }

  async #launch(): Promise<void> {
    await mkdir(this.rootDir, { recursive: true });
    const logFd = openSync(this.logFile, 'a');
    const [command, ...args] = FLARE_COMMAND;
    const child = spawn(command, args, {
      cwd: REPO_ROOT,
      env: this.#env,
      // Its own process group, so that everything it starts can be found and ended.
      detached: true,
      stdio: ['ignore', logFd, logFd],
    });
    closeSync(logFd);
    this.#child = child;
    this.#exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      child.once('error', () => resolve({ code: null, signal: null }));
    });
    if (child.pid !== undefined) this.#groups.add(child.pid);
    await this.#waitForHealth();
  }

  async #waitForHealth(): Promise<void> {
    const deadlineMs = Date.now() + this.#startTimeoutMs;
    const health = `${this.apiUrl}/health`;
    while (Date.now() < deadlineMs) {
      if (!this.running) {
        const status = await this.#exited;
        throw new Error(`Flare exited with ${describeExit(status)}:\n${await this.logTail()}`);
      }
      const answer = await fetch(health, { signal: AbortSignal.timeout(2_000) }).catch(
        () => undefined,
      );
      if (answer?.status === 204) return;
      await sleep(200);
    }
    throw new Error(`Flare did not answer ${health} in time:\n${await this.logTail()}`);
  }

  /** The node process that runs Flare: the deepest process of the launch running main.ts. */
  #servicePid(): number {
    const launcher = this.#child?.pid;
    if (launcher === undefined) throw new Error('Flare was never launched');
    const candidates = descendantsOf(launcher)
      .filter((entry) => entry.command.includes(ENTRY_POINT) && /node/.test(entry.command))
      .sort((a, b) => b.depth - a.depth);
    const service = candidates[0];
    if (service === undefined) throw new Error(`No Flare node process under ${launcher}`);
    return service.pid;
  }

  #signalService(signal: NodeJS.Signals): void {
    process.kill(this.#servicePid(), signal);
  }

  #signalGroups(signal: NodeJS.Signals): void {
    for (const pgid of this.#groups) signalGroup(pgid, signal);
  }

  async #waitForExit(timeoutMs: number): Promise<ExitStatus> {
    const timedOut = sleep(timeoutMs, 'timeout' as const, { ref: false });
    const status = await Promise.race([this.#exited, timedOut]);
    if (status === 'timeout') {
      this.#signalGroups('SIGKILL');
      throw new Error(`Flare did not exit within ${timeoutMs} ms:\n${await this.logTail()}`);
    }
    return status;
  }
}

/**
 * Runs the token command as `npm run --silent token -- --user NAME` does, against the key in
 * `dataDir` (made there if missing), and returns the token it printed.
 */
export async function issueToken(dataDir: string, user: string): Promise<string> {
  const { stdout } = await runFile('npx', ['tsx', 'local/src/token-cli.ts', '--user', user], {
    cwd: REPO_ROOT,
    env: { ...process.env, FLARE_DATA_DIR: dataDir },
    timeout: 60_000,
  });
  const token = stdout.trim();
  if (!/^[\w-]+\.[\w-]+\.[\w-]+$/.test(token)) {
    throw new Error(`The token command printed no token: ${JSON.stringify(stdout)}`);
  }
  return token;
}

/** What a run of Flare that is expected to end at once printed, and how it ended. */
export interface FinishedRun extends ExitStatus {
  readonly stdout: string;
  readonly stderr: string;
  /** Processes of the run still alive once it exited (a Podman service it did not stop). */
  readonly leftovers: readonly string[];
}

/**
 * Runs Flare as a user does and waits for it to exit by itself, as it should when it cannot
 * start. `env` replaces the environment entirely, so a test can take things away (PATH).
 */
export async function runFlareUntilExit(
  env: NodeJS.ProcessEnv,
  options: { readonly timeoutMs?: number; readonly command?: string } = {},
): Promise<FinishedRun> {
  const [command, ...args] = FLARE_COMMAND;
  const child = spawn(options.command ?? command, args, {
    cwd: REPO_ROOT,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pgid = child.pid;
  const forget = cleanUpOnExit(() => {
    if (pgid !== undefined) signalGroup(pgid, 'SIGKILL');
  });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
  const closed = new Promise<ExitStatus>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  const timeoutMs = options.timeoutMs ?? 60_000;
  const status = await Promise.race([closed, sleep(timeoutMs, undefined, { ref: false })]);
  const leftovers =
    pgid === undefined ? [] : groupMembers(pgid).map((entry) => `${entry.pid} ${entry.command}`);
  if (pgid !== undefined) {
    // A Podman service it started and failed to stop would otherwise outlive the test.
    signalGroup(pgid, 'SIGKILL');
  }
  forget();
  if (status === undefined) throw new Error(`Flare was still running after ${timeoutMs} ms`);
  return {
    ...status,
    leftovers,
    stdout: Buffer.concat(stdout).toString('utf8'),
    stderr: Buffer.concat(stderr).toString('utf8'),
  };
}

/** A port nothing listens on at this moment, as the OS hands them out. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Polls `condition` every 100 ms until it holds or `timeoutMs` passes; says which. */
export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
): Promise<boolean> {
  const deadlineMs = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return true;
    if (Date.now() >= deadlineMs) return false;
    await sleep(100);
  }
}

function describeExit(status: ExitStatus): string {
  return status.signal === null ? `code ${status.code}` : `signal ${status.signal}`;
}
