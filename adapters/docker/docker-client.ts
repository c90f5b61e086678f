import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import type { Readable } from 'node:stream';
import { EngineUnavailableError, TaskRunnerError } from '../../core/src/errors';

/** Where the engine listens. With neither field, `/var/run/docker.sock` is used. */
export interface DockerEndpoint {
  /** Path of the engine's unix socket. */
  readonly socketPath?: string;
  /** `unix:///path` or `tcp://host:port`, as in DOCKER_HOST; `socketPath` wins if both are set. */
  readonly dockerHost?: string;
}

export interface DockerClientOptions extends DockerEndpoint {
  /** API version prefix. Default `v1.41`, which both Docker and Podman's compat API serve. */
  readonly apiVersion?: string;
  /** Deadline for a whole non-streaming call, and for the headers of a streaming one. */
  readonly requestTimeoutMs?: number;
}

export type QueryValue = string | number | boolean | undefined;

export interface DockerRequest {
  readonly query?: Readonly<Record<string, QueryValue | readonly string[]>>;
  /** Sent as JSON, or as is when it is a Buffer or a stream. */
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal | undefined;
  /** Overrides the client's `requestTimeoutMs`, e.g. for a stop that waits out a grace time. */
  readonly timeoutMs?: number;
}

export interface DockerResponse<T> {
  readonly statusCode: number;
  readonly body: T;
}

/** The engine answered with an error status; `statusCode` tells 404 and 409 apart. */
export class DockerApiError extends TaskRunnerError {
  constructor(
    message: string,
    readonly statusCode: number,
  ) {
    super(message);
  }
}

/** The engine could not be reached, or did not answer in time. */
export class DockerUnreachableError extends EngineUnavailableError {}

const DEFAULT_SOCKET = '/var/run/docker.sock';
const DEFAULT_TIMEOUT_MS = 30_000;

/** True when `error` is the engine saying that the object does not exist. */
export function isNotFound(error: unknown): boolean {
  return error instanceof DockerApiError && error.statusCode === 404;
}

/** The call's result, or undefined when what it names does not exist. */
export async function unlessNotFound<T>(call: Promise<T>): Promise<T | undefined> {
  try {
    return await call;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/**
 * A small Docker Engine API client over node:http. Non-streaming calls always end: they carry
 * a deadline. Streaming calls are bounded only by the caller's signal, since following logs
 * or a pull may rightly last long.
 */
export class DockerClient {
  private readonly target: Pick<RequestOptions, 'socketPath' | 'host' | 'port'>;
  private readonly apiVersion: string;
  private readonly requestTimeoutMs: number;

  constructor(options: DockerClientOptions = {}) {
    this.target = resolveTarget(options);
    this.apiVersion = options.apiVersion ?? 'v1.41';
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** Whether the engine answers `/_ping` within `timeoutMs`. */
  async ping(timeoutMs = 2_000): Promise<boolean> {
    try {
      await this.call('GET', '/_ping', { timeoutMs });
      return true;
    } catch {
      return false;
    }
  }

  /** A whole call; the answer is parsed when it is JSON, else given as text. */
  async call<T = unknown>(
    method: string,
    path: string,
    options: DockerRequest = {},
  ): Promise<DockerResponse<T>> {
    const deadline = AbortSignal.timeout(options.timeoutMs ?? this.requestTimeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
    try {
      const response = await this.open(method, path, { ...options, signal });
      const text = await readText(response);
      return { statusCode: response.statusCode ?? 0, body: parseBody(text) as T };
    } catch (error) {
      throw explainAbort(error, options.signal, deadline, method, path);
    }
  }

  /**
   * Opens a call whose answer the caller reads as a stream. Resolves once the headers are in
   * (within the deadline); aborting `signal` later destroys the stream.
   */
  async stream(method: string, path: string, options: DockerRequest = {}): Promise<Readable> {
    const deadline = AbortSignal.timeout(options.timeoutMs ?? this.requestTimeoutMs);
    const headersIn = new AbortController();
    const onDeadline = (): void => headersIn.abort(deadline.reason);
    deadline.addEventListener('abort', onDeadline, { once: true });
    const signals = options.signal ? [options.signal, headersIn.signal] : [headersIn.signal];
    try {
      return await this.open(method, path, { ...options, signal: AbortSignal.any(signals) });
    } catch (error) {
      throw explainAbort(error, options.signal, deadline, method, path);
    } finally {
      deadline.removeEventListener('abort', onDeadline);
    }
  }

  private open(method: string, path: string, options: DockerRequest): Promise<IncomingMessage> {
    const { signal } = options;
    signal?.throwIfAborted();
    const headers: Record<string, string> = { ...options.headers };
    let payload: Buffer | Readable | undefined;
    if (Buffer.isBuffer(options.body) || isReadable(options.body)) {
      payload = options.body;
    } else if (options.body !== undefined) {
      payload = Buffer.from(JSON.stringify(options.body));
      headers['content-type'] = 'application/json';
    }
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        { ...this.target, method, path: this.url(path, options.query), headers, signal },
        (response) => {
          if ((response.statusCode ?? 0) < 400) {
            resolve(response);
            return;
          }
          readText(response)
            .then((text) => reject(apiError(method, path, response.statusCode ?? 0, text)))
            .catch(reject);
        },
      );
      req.on('error', (error) =>
        reject(
          signal?.aborted
            ? error
            : new DockerUnreachableError(`Container engine unreachable (${method} ${path})`, {
                cause: error,
              }),
        ),
      );
      if (payload === undefined) req.end();
      else if (Buffer.isBuffer(payload)) req.end(payload);
      else payload.pipe(req);
    });
  }

  private url(path: string, query: DockerRequest['query']): string {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query ?? {})) {
      if (Array.isArray(value)) for (const item of value) params.append(key, item);
      else if (value !== undefined) params.append(key, String(value));
    }
    const search = params.size > 0 ? `?${params.toString()}` : '';
    return path === '/_ping' ? `/_ping${search}` : `/${this.apiVersion}${path}${search}`;
  }
}

function resolveTarget(
  endpoint: DockerEndpoint,
): Pick<RequestOptions, 'socketPath' | 'host' | 'port'> {
  if (endpoint.socketPath) return { socketPath: endpoint.socketPath };
  const host = endpoint.dockerHost;
  if (!host) return { socketPath: DEFAULT_SOCKET };
  if (host.startsWith('unix://')) return { socketPath: host.slice('unix://'.length) };
  if (host.startsWith('tcp://')) {
    const url = new URL(`http://${host.slice('tcp://'.length)}`);
    return { host: url.hostname, port: Number(url.port || 2375) };
  }
  throw new TaskRunnerError(`Unsupported DOCKER_HOST scheme; use unix:// or tcp:// (got ${host})`);
}

function isReadable(value: unknown): value is Readable {
  return typeof (value as Readable | undefined)?.pipe === 'function';
}

async function readText(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** JSON when it parses as JSON: Podman leaves out the content type on some answers (stats). */
function parseBody(text: string): unknown {
  if (!/^\s*[[{]/.test(text)) return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function apiError(method: string, path: string, statusCode: number, text: string): DockerApiError {
  let detail = text.trim();
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    if (typeof parsed.message === 'string') detail = parsed.message;
  } catch {
    // Not JSON: the raw text is the best description there is.
  }
  return new DockerApiError(`${method} ${path} failed (${statusCode}): ${detail}`, statusCode);
}

/** The caller's abort stays an abort; our own deadline becomes a typed engine error. */
function explainAbort(
  error: unknown,
  callerSignal: AbortSignal | undefined,
  deadline: AbortSignal,
  method: string,
  path: string,
): unknown {
  if (callerSignal?.aborted) return callerSignal.reason;
  if (deadline.aborted) {
    return new DockerUnreachableError(
      `Container engine did not answer in time (${method} ${path})`,
      {
        cause: error,
      },
    );
  }
  return error;
}

/** Which engine serves the API: Podman names itself among the version's components. */
export async function detectEngineName(
  client: DockerClient,
  signal?: AbortSignal,
): Promise<'docker' | 'podman'> {
  const { body } = await client.call<{ Components?: { Name?: string }[] }>('GET', '/version', {
    signal,
  });
  const names = (body.Components ?? []).map((component) => component.Name ?? '');
  return names.some((name) => /podman/i.test(name)) ? 'podman' : 'docker';
}
