import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { BUSYBOX_IMAGE } from './test-images';

/** One answer of the API, read in full. */
export interface ApiAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly text: string;
  /** The body parsed as JSON; throws when it is not JSON. */
  json(): unknown;
}

/** `execution.tasks[i]` as the API returns it. */
export interface TaskExecutionView {
  readonly imagePullStatus?: string;
  readonly imagePullTime?: number;
  readonly exitCode?: number;
  readonly wallTimeUsage?: number;
  readonly cpuTimeUsage?: number;
  readonly retries?: number;
}

/** A job as the API returns it, loosely typed: the tests check the shape themselves. */
export interface JobView {
  readonly id: number;
  readonly status: string;
  readonly statusReason?: string;
  readonly name: string;
  readonly tasks: readonly Record<string, unknown>[];
  readonly resources?: Record<string, unknown>;
  readonly events: { createTime: number; startTime?: number; endTime?: number };
  readonly execution?: {
    readonly site?: string;
    readonly retries?: number;
    readonly tasks?: readonly TaskExecutionView[];
  };
}

export const TERMINAL_STATUSES: readonly string[] = ['completed', 'failed', 'deleted', 'killed'];

export interface RequestOptions {
  readonly body?: string | Uint8Array | ReadableStream<Uint8Array>;
  readonly headers?: Readonly<Record<string, string>>;
  /** Replaces the Authorization header; null sends none. Default: the client's token. */
  readonly authorization?: string | null;
}

/** A small client for Flare's API over fetch, with the polling the tests need. */
export class FlareApi {
  readonly apiUrl: string;
  readonly #token: string | undefined;

  constructor(apiUrl: string, token?: string) {
    this.apiUrl = apiUrl;
    this.#token = token;
  }

  async request(method: string, path: string, options: RequestOptions = {}): Promise<ApiAnswer> {
    const headers: Record<string, string> = { ...options.headers };
    const authorization =
      options.authorization === undefined
        ? this.#token && `Bearer ${this.#token}`
        : options.authorization;
    if (authorization) headers.authorization = authorization;
    const init: RequestInit & { duplex?: 'half' } = {
      method,
      headers,
      signal: AbortSignal.timeout(30_000),
    };
    if (options.body !== undefined) {
      init.body = options.body;
      // fetch sends a stream body only when told that the request goes out half-duplex.
      if (options.body instanceof ReadableStream) init.duplex = 'half';
    }
    const response = await fetch(`${this.apiUrl}${path}`, init);
    const text = await response.text();
    return {
      status: response.status,
      contentType: response.headers.get('content-type') ?? '',
      text,
      json: () => JSON.parse(text) as unknown,
    };
  }

  /** POSTs a job description as JSON; asserts a 201 `{"id": <integer>}` and returns the id. */
  async submit(job: unknown): Promise<number> {
    const answer = await this.request('POST', '/jobs', {
      body: JSON.stringify(job),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(answer.status, 201, `POST /jobs answered ${answer.status}: ${answer.text}`);
    const { id } = answer.json() as { id: unknown };
    assert.ok(Number.isInteger(id), `POST /jobs gave a non-integer id: ${answer.text}`);
    return id as number;
  }

  /** GET /jobs/{id}: the job, or undefined for the empty list. */
  async describe(id: number): Promise<JobView | undefined> {
    const answer = await this.request('GET', `/jobs/${id}`);
    assert.equal(answer.status, 200, `GET /jobs/${id} answered ${answer.status}: ${answer.text}`);
    const jobs = answer.json();
    assert.ok(Array.isArray(jobs), `GET /jobs/${id} is not a list: ${answer.text}`);
    assert.ok(jobs.length <= 1, `GET /jobs/${id} gave several jobs: ${answer.text}`);
    return jobs[0] as JobView | undefined;
  }

  /** GET /jobs with `query` (e.g. `?completed=true&num=5`). */
  async list(query = ''): Promise<JobView[]> {
    const answer = await this.request('GET', `/jobs${query}`);
    assert.equal(answer.status, 200, `GET /jobs${query} answered ${answer.status}: ${answer.text}`);
    const jobs = answer.json();
    assert.ok(Array.isArray(jobs), `GET /jobs${query} is not a list: ${answer.text}`);
    return jobs as JobView[];
  }

  /** The job's stdout or stderr from `offsetBytes` on; asserts a 200 text answer. */
  async output(id: number, stream: 'stdout' | 'stderr', offsetBytes?: number): Promise<string> {
    const query = offsetBytes === undefined ? '' : `?offset=${offsetBytes}`;
    const path = `/jobs/${id}/${stream}${query}`;
    const answer = await this.request('GET', path);
    assert.equal(answer.status, 200, `GET ${path} answered ${answer.status}: ${answer.text}`);
    assert.match(answer.contentType, /^text\/plain/);
    return answer.text;
  }

  /** Polls the job every 250 ms until `until` holds; fails with its last state if it never does. */
  async waitForJob(
    id: number,
    until: (job: JobView) => boolean,
    options: { readonly timeoutMs: number; readonly what: string },
  ): Promise<JobView> {
    const deadlineMs = Date.now() + options.timeoutMs;
    let last: JobView | undefined;
    while (Date.now() < deadlineMs) {
      last = await this.describe(id);
      if (last !== undefined && until(last)) return last;
      await sleep(250);
    }
    assert.fail(
      `job ${id} was not ${options.what} within ${options.timeoutMs} ms; last seen: ` +
        JSON.stringify(last),
    );
  }

  /** Waits for the job to reach a terminal status. */
  waitForEnd(id: number, timeoutMs = 60_000): Promise<JobView> {
    return this.waitForJob(id, (job) => TERMINAL_STATUSES.includes(job.status), {
      timeoutMs,
      what: 'finished',
    });
  }

  /** Waits for the job to be running. */
  waitForRunning(id: number, timeoutMs = 60_000): Promise<JobView> {
    return this.waitForJob(id, (job) => job.status === 'running', { timeoutMs, what: 'running' });
  }
}

/** A one-task job on the test busybox image running `cmd` with /bin/sh. */
export function busyboxJob(name: string, cmd: string, resources: object = {}): object {
  return {
    name,
    resources: { nodes: 1, cpus: 1, memory: 1, disk: 10, ...resources },
    tasks: [{ image: BUSYBOX_IMAGE, runtime: 'docker', cmd }],
  };
}
