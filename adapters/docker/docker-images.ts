import type { Readable } from 'node:stream';
import { ImagePullError } from '../../core/src/errors';
import type { ImagePullCredential } from '../../core/src/job-types';
import type { Logger } from '../../core/src/logger';
import type { ImageReady } from '../../core/src/ports';
import {
  DockerApiError,
  type DockerClient,
  DockerUnreachableError,
  unlessNotFound,
} from './docker-client';

/**
 * Images on a Docker Engine API: naming as Docker reads it, the local cache, and pulls that
 * are bounded in time and report the failures engines hide inside a 200 answer.
 */
export class ImageStore {
  readonly #client: DockerClient;
  readonly #logger: Logger;
  readonly #pullTimeoutMs: number;

  /** `pullTimeoutSeconds`: longest a pull may take. Default 600 (10 minutes). */
  constructor(client: DockerClient, logger: Logger, pullTimeoutSeconds = 600) {
    this.#client = client;
    this.#logger = logger;
    this.#pullTimeoutMs = pullTimeoutSeconds * 1000;
  }

  /** Makes the image available: `cached` when the engine has it, else pulled. */
  async prepare(
    image: string,
    credential: ImagePullCredential | undefined,
    signal?: AbortSignal,
  ): Promise<ImageReady> {
    const name = resolveImageName(image);
    const present = await this.#imageId(name, signal);
    if (present !== undefined) return { status: 'cached', ...sha256Of(present) };

    const startedMs = Date.now();
    await this.#pull(name, credential, signal);
    const pullTimeSeconds = (Date.now() - startedMs) / 1000;
    const pulled = await this.#imageId(name, signal);
    if (pulled === undefined) throw new ImagePullError(`Image ${name} is missing after its pull`);
    this.#logger.info('image pulled', {
      image: name,
      pullTimeMs: Math.round(pullTimeSeconds * 1000),
    });
    return { status: 'completed', pullTimeSeconds, ...sha256Of(pulled) };
  }

  async #imageId(name: string, signal?: AbortSignal): Promise<string | undefined> {
    const path = `/images/${imagePath(name)}/json`;
    const found = await unlessNotFound(this.#client.call<{ Id: string }>('GET', path, { signal }));
    return found?.body.Id;
  }

  async #pull(
    name: string,
    credential: ImagePullCredential | undefined,
    signal?: AbortSignal,
  ): Promise<void> {
    const deadline = AbortSignal.timeout(this.#pullTimeoutMs);
    const { repository, reference } = splitImageName(name);
    try {
      const progress = await this.#client.stream('POST', '/images/create', {
        query: { fromImage: repository, tag: reference },
        headers: credential ? { 'X-Registry-Auth': registryAuth(credential, name) } : {},
        signal: signal ? AbortSignal.any([signal, deadline]) : deadline,
        timeoutMs: this.#pullTimeoutMs,
      });
      await followProgress(progress);
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (deadline.aborted) {
        const seconds = this.#pullTimeoutMs / 1000;
        throw new ImagePullError(`Pulling ${name} took longer than ${seconds} s`, { cause: error });
      }
      // An engine that cannot be reached is not the image's fault.
      if (error instanceof DockerUnreachableError) throw error;
      const detail = error instanceof Error ? error.message : String(error);
      throw new ImagePullError(`Cannot pull ${name}: ${detail}`, { cause: error });
    }
  }
}

function sha256Of(imageId: string): { imageSha256?: string } {
  const hex = imageId.replace(/^sha256:/, '');
  return /^[0-9a-f]{64}$/.test(hex) ? { imageSha256: hex } : {};
}

/**
 * Reads a JSON-lines progress stream (pull, import) to its end. The engine has answered 200
 * before the work starts, so a failure can only be reported inside the stream.
 */
export async function followProgress(progress: Readable): Promise<void> {
  progress.setEncoding('utf8');
  let pending = '';
  const check = (line: string): void => {
    if (line.trim() === '') return;
    const event = JSON.parse(line) as { error?: string; errorDetail?: { message?: string } };
    const failure = event.errorDetail?.message ?? event.error;
    if (failure) throw new DockerApiError(failure, 200);
  };
  for await (const chunk of progress) {
    pending += String(chunk);
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) check(line);
  }
  check(pending);
}

const HUB_DOMAINS = new Set(['docker.io', 'index.docker.io']);

/**
 * The image's full name as Docker reads it: `ubuntu` is `docker.io/library/ubuntu:latest`,
 * `eoscprominence/testpi` is `docker.io/eoscprominence/testpi:latest`. The first part is a
 * registry only when it looks like a host (has a dot or a port, or is `localhost`).
 */
export function resolveImageName(image: string): string {
  const at = image.indexOf('@');
  const name = at === -1 ? image : image.slice(0, at);
  const digest = at === -1 ? '' : image.slice(at);
  const slash = name.indexOf('/');
  const first = slash === -1 ? '' : name.slice(0, slash);
  const isHost = first.includes('.') || first.includes(':') || first === 'localhost';
  let domain = isHost ? first : 'docker.io';
  let path = isHost ? name.slice(slash + 1) : name;
  if (HUB_DOMAINS.has(domain)) {
    domain = 'docker.io';
    if (!path.includes('/')) path = `library/${path}`;
  }
  const hasTag = path.includes(':');
  return `${domain}/${path}${digest || (hasTag ? '' : ':latest')}`;
}

/** A resolved name cut into the `fromImage` and `tag` (tag or digest) that a pull takes. */
export function splitImageName(resolved: string): { repository: string; reference: string } {
  const at = resolved.indexOf('@');
  if (at !== -1) return { repository: resolved.slice(0, at), reference: resolved.slice(at + 1) };
  const colon = resolved.lastIndexOf(':');
  return { repository: resolved.slice(0, colon), reference: resolved.slice(colon + 1) };
}

/** The name as a URL path, each part escaped but the slashes kept, as engines expect. */
export function imagePath(resolved: string): string {
  return resolved.split('/').map(encodeURIComponent).join('/');
}

/** The X-Registry-Auth header: base64url JSON naming the registry the credential is for. */
export function registryAuth(
  credential: { readonly username: string; readonly token: string },
  resolved: string,
): string {
  const domain = resolved.slice(0, resolved.indexOf('/'));
  const serveraddress = domain === 'docker.io' ? 'https://index.docker.io/v1/' : domain;
  const auth = { username: credential.username, password: credential.token, serveraddress };
  return Buffer.from(JSON.stringify(auth)).toString('base64url');
}
