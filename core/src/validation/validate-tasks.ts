import { UnsupportedFeatureError, ValidationError } from '../errors';
import {
  type ImagePullCredential,
  type ResourcesSpec,
  TASK_RUNTIMES,
  TASK_TYPES,
  type TaskRuntime,
  type TaskSpec,
  type TaskType,
} from '../job-types';
import {
  type Mutable,
  rejectUnknownKeys,
  requireInteger,
  requireObject,
  requireOneOf,
  requireString,
} from './checks';
import { validateEnv } from './validate-env';

/** `args` and `workDir` appear in the PROMINENCE docs but the server never took them (§12). */
const TASK_KEYS: ReadonlySet<string> = new Set([
  'image',
  'cmd',
  'env',
  'app',
  'workdir',
  'procsPerNode',
  'type',
  'runtime',
  'imagePullCredential',
  'imageSha256',
  'stdout',
]);

const CREDENTIAL_KEYS: ReadonlySet<string> = new Set(['username', 'token']);

/**
 * Checks `tasks`, each task in the reference server's order: keys, image, pull credential,
 * runtime, env, app, procsPerNode, cmd, workdir, type.
 */
export function validateTasks(value: unknown, resources: ResourcesSpec): TaskSpec[] {
  if (value === undefined) {
    throw new ValidationError('a job must contain tasks');
  }
  // The reference server refuses a job made only of sidecars; with sidecars refused as
  // unsupported, a non-empty list always has a basic task, so the empty list is the only case.
  if (!Array.isArray(value) || value.length === 0) {
    throw new ValidationError('an array of tasks must be provided, with at least one task');
  }
  return value.map((task: unknown, index) => validateTask(task, index, resources));
}

function validateTask(value: unknown, index: number, resources: ResourcesSpec): TaskSpec {
  const field = `tasks[${index}]`;
  const input = requireObject(value, field);
  rejectUnknownKeys(input, TASK_KEYS, `task ${index}`);

  const image = validateImage(input.image, `${field}.image`);
  const credential =
    input.imagePullCredential === undefined
      ? undefined
      : validateCredential(input.imagePullCredential, `${field}.imagePullCredential`);
  const runtime =
    input.runtime === undefined
      ? defaultRuntime()
      : requireOneOf(input.runtime, TASK_RUNTIMES, `${field}.runtime`);
  const task: Mutable<TaskSpec> = { image, runtime };
  if (credential !== undefined) {
    task.imagePullCredential = credential;
  }
  if (input.env !== undefined) {
    task.env = validateEnv(input.env, `${field}.env`);
  }
  if (input.app !== undefined) {
    throw new UnsupportedFeatureError(
      `${field}.app is not supported yet: tasks run as OCI containers, without Singularity apps`,
    );
  }
  if (input.procsPerNode !== undefined) {
    task.procsPerNode = validateProcsPerNode(input.procsPerNode, resources, field);
  }
  if (input.cmd !== undefined) {
    task.cmd = requireString(input.cmd, `${field}.cmd`);
  }
  // Any string is an absolute path or one relative to /home/user, which the worker resolves.
  if (input.workdir !== undefined) {
    task.workdir = requireString(input.workdir, `${field}.workdir`);
  }
  if (input.type !== undefined) {
    task.type = validateType(input.type, field);
  }
  if (input.imageSha256 !== undefined) {
    task.imageSha256 = requireString(input.imageSha256, `${field}.imageSha256`);
  }
  if (input.stdout !== undefined) {
    throw new UnsupportedFeatureError(`${field}.stdout is not supported yet`);
  }
  return task;
}

function validateImage(value: unknown, field: string): string {
  if (value === undefined) {
    throw new ValidationError(`${field} is required: each task must specify a container image`);
  }
  const image = requireString(value, field);
  if (image.length === 0) {
    throw new ValidationError(`${field} must not be empty`);
  }
  const form = unsupportedImageForm(image);
  if (form !== undefined) {
    throw new UnsupportedFeatureError(
      `${field}: ${form} are not supported yet; use a container registry image`,
    );
  }
  if (image.length > MAX_IMAGE_LENGTH || !IMAGE_REFERENCE.test(image)) {
    throw new ValidationError(
      `${field} is not a valid image name: use [registry/]name[:tag][@digest], the name in ` +
        'lower case',
    );
  }
  return image;
}

const MAX_IMAGE_LENGTH = 512;

/**
 * Docker's reference grammar, loosely: engines refuse anything else only when the task
 * starts, which would fail the job instead of the request.
 */
const IMAGE_REFERENCE = (() => {
  const label = '[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?';
  const host = `(?:${label}(?:\\.${label})*(?::[0-9]+)?/)?`;
  const component = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
  const tag = '(?::[\\w][\\w.-]{0,127})?';
  const digest = '(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?';
  return new RegExp(`^${host}${component}(?:/${component})*${tag}${digest}$`);
})();

/**
 * Image forms of the reference service that need Singularity or the data store: every task
 * runs as an OCI container from a registry here.
 */
function unsupportedImageForm(image: string): string | undefined {
  if (image.startsWith('shub://')) return 'Singularity Hub images';
  if (/^https?:\/\//.test(image)) return 'images downloaded from a URL';
  if (image.startsWith('/')) return 'images on mounted storage';
  if (/\.(tar|tgz|sif|simg)(\.|$)/.test(image)) return 'image files';
  return undefined;
}

/**
 * The clients' default, which the reference server left to them (§12 item 12). They pick
 * udocker for image tarballs, which are refused above, so singularity is what remains. It is
 * stored and echoed; it does not change how the task runs.
 */
function defaultRuntime(): TaskRuntime {
  return 'singularity';
}

/** Messages name the missing or wrong field but never repeat a value: the token is a secret. */
function validateCredential(value: unknown, field: string): ImagePullCredential {
  const input = requireObject(value, field);
  rejectUnknownKeys(input, CREDENTIAL_KEYS, field);

  const { username, token } = input;
  if (username === undefined || token === undefined) {
    throw new ValidationError(`${field} must contain both username and token`);
  }
  if (typeof username !== 'string' || username.length === 0) {
    throw new ValidationError(`${field}.username must be a non-empty string`);
  }
  if (typeof token !== 'string' || token.length === 0) {
    throw new ValidationError(`${field}.token must be a non-empty string`);
  }
  return { username, token };
}

function validateProcsPerNode(value: unknown, resources: ResourcesSpec, field: string): number {
  const procs = requireInteger(value, `${field}.procsPerNode`, { min: 1 });
  if (resources.cpus !== undefined && procs > resources.cpus) {
    throw new ValidationError(
      `${field}.procsPerNode must not exceed the cores per node, ` +
        `resources.cpus (${resources.cpus}), got ${procs}`,
    );
  }
  return procs;
}

function validateType(value: unknown, field: string): TaskType {
  const type = requireOneOf(value, TASK_TYPES, `${field}.type`);
  if (type !== 'basic') {
    throw new UnsupportedFeatureError(
      `${field}.type ${type} is not supported yet: only basic tasks run`,
    );
  }
  return type;
}
