/**
 * Readers for single CDK context values. A value comes either from cdk.json (a JSON boolean
 * or number) or from `-c key=value` on the command line (always a string), so each reader
 * accepts both forms and refuses anything else with a message that names the key, what it
 * accepts and what it got.
 */

/** A context value that cannot be used; the message says which key and why. */
export class FlareConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FlareConfigError';
  }
}

/** Reads one raw value by key; `undefined` when the key is not set. */
export type ContextLookup = (key: string) => unknown;

export function readBoolean(lookup: ContextLookup, key: string, fallback: boolean): boolean {
  const raw = lookup(key);
  if (raw === undefined) return fallback;
  if (raw === true || raw === 'true') return true;
  if (raw === false || raw === 'false') return false;
  throw new FlareConfigError(`${key} must be true or false, got ${shown(raw)}`);
}

export function readInteger(
  lookup: ContextLookup,
  key: string,
  range: { readonly min: number; readonly max: number; readonly fallback: number },
): number {
  const raw = lookup(key);
  if (raw === undefined) return range.fallback;
  const value = typeof raw === 'string' && /^-?\d+$/.test(raw.trim()) ? Number(raw) : raw;
  if (
    typeof value !== 'number' ||
    !Number.isInteger(value) ||
    value < range.min ||
    value > range.max
  ) {
    throw new FlareConfigError(
      `${key} must be a whole number from ${range.min} to ${range.max}, got ${shown(raw)}`,
    );
  }
  return value;
}

/** One of a fixed list of numbers (such as CloudWatch's log retention periods). */
export function readIntegerChoice(
  lookup: ContextLookup,
  key: string,
  allowed: readonly number[],
  fallback: number,
): number {
  const raw = lookup(key);
  if (raw === undefined) return fallback;
  const value = typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw) : raw;
  if (typeof value !== 'number' || !allowed.includes(value)) {
    throw new FlareConfigError(`${key} must be one of ${allowed.join(', ')}, got ${shown(raw)}`);
  }
  return value;
}

export function readChoice<T extends string>(
  lookup: ContextLookup,
  key: string,
  allowed: readonly T[],
  fallback: T,
): T {
  const raw = lookup(key);
  if (raw === undefined) return fallback;
  const found = allowed.find((choice) => choice === raw);
  if (found === undefined) {
    throw new FlareConfigError(`${key} must be one of ${allowed.join(', ')}, got ${shown(raw)}`);
  }
  return found;
}

/** A non-empty string without surrounding white space, or `undefined` when not set. */
export function readText(lookup: ContextLookup, key: string): string | undefined {
  const raw = lookup(key);
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || raw.trim() === '' || raw.trim() !== raw) {
    throw new FlareConfigError(
      `${key} must be a non-empty string without surrounding spaces, got ${shown(raw)}`,
    );
  }
  return raw;
}

/** An https URL: tokens are verified against it, so plain http is refused. */
export function readHttpsUrl(lookup: ContextLookup, key: string): string | undefined {
  const text = readText(lookup, key);
  if (text === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (url?.protocol !== 'https:') {
    throw new FlareConfigError(`${key} must be an https:// URL, got ${shown(text)}`);
  }
  return text;
}

function shown(raw: unknown): string {
  return typeof raw === 'string' ? `"${raw}"` : (JSON.stringify(raw) ?? String(raw));
}
