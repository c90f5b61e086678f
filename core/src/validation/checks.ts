import { ValidationError } from '../errors';

/**
 * The most characters of user input a message repeats. Keys and values are echoed to help the
 * user find the mistake, but a megabyte-long key must not come back in a 400 body or a log line.
 */
export const MAX_ECHO_CHARS = 100;

export type JsonObject = Readonly<Record<string, unknown>>;

/** The readonly spec types, made writable so a validator can fill one in step by step. */
export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Bounds of an integer field, both inclusive, as the reference server checks them. */
export interface IntegerBounds {
  readonly min: number;
  readonly max?: number;
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Integers as JSON numbers only: `"4"`, `true` and `1.5` are not integers (`1.0` parses as 1). */
export function isInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value);
}

/** A piece of user input cut to the length a message may repeat. */
export function shorten(text: string): string {
  return text.length > MAX_ECHO_CHARS ? `${text.slice(0, MAX_ECHO_CHARS)}...` : text;
}

/** A piece of user input, shortened and quoted, for a message. */
export function quote(text: string): string {
  return JSON.stringify(shorten(text));
}

/**
 * What a rejected value was, for "got ..." in a message. Numbers are short and safe to repeat;
 * strings and containers are only named, so a message never carries a secret or a large blob.
 */
export function describeValue(value: unknown): string {
  if (typeof value === 'number') {
    return String(value);
  }
  if (value === null || value === undefined) {
    return String(value);
  }
  if (Array.isArray(value)) {
    return 'a list';
  }
  if (typeof value === 'object') {
    return 'an object';
  }
  return `a ${typeof value}`;
}

export function requireObject(value: unknown, field: string): JsonObject {
  if (!isJsonObject(value)) {
    throw new ValidationError(`${field} must be an object, got ${describeValue(value)}`);
  }
  return value;
}

/** Rejects the first key of `object` that is not in `allowed`, naming where it was found. */
export function rejectUnknownKeys(
  object: JsonObject,
  allowed: ReadonlySet<string>,
  where: string,
): void {
  for (const key of Object.keys(object)) {
    if (!allowed.has(key)) {
      throw new ValidationError(`invalid item ${quote(key)} in ${where}`);
    }
  }
}

export function requireInteger(value: unknown, field: string, bounds: IntegerBounds): number {
  if (!isInteger(value)) {
    throw new ValidationError(`${field} must be an integer, got ${describeValue(value)}`);
  }
  const { min, max } = bounds;
  if (max !== undefined && (value < min || value > max)) {
    throw new ValidationError(`${field} must be between ${min} and ${max}, got ${value}`);
  }
  if (value < min) {
    throw new ValidationError(`${field} must be at least ${min}, got ${value}`);
  }
  return value;
}

export function requireBoolean(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') {
    throw new ValidationError(`${field} must be either true or false, got ${describeValue(value)}`);
  }
  return value;
}

/** A string that the worker hands to the container; NUL cannot pass through `execve`. */
export function requireString(value: unknown, field: string): string {
  if (typeof value !== 'string') {
    throw new ValidationError(`${field} must be a string, got ${describeValue(value)}`);
  }
  if (value.includes('\u0000')) {
    throw new ValidationError(`${field} must not contain a NUL character`);
  }
  return value;
}

export function requireStringList(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw new ValidationError(`${field} must be a list of strings`);
  }
  return [...value];
}

/** Throws when `value` is not one of `allowed`; the message lists the allowed values. */
export function requireOneOf<T extends string>(
  value: unknown,
  allowed: readonly T[],
  field: string,
): T {
  const found = allowed.find((candidate) => candidate === value);
  if (found === undefined) {
    const got = typeof value === 'string' ? quote(value) : describeValue(value);
    throw new ValidationError(`${field} must be one of ${allowed.join(', ')}, got ${got}`);
  }
  return found;
}
