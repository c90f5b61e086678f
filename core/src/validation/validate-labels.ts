import { ValidationError } from '../errors';
import { describeValue, quote, requireObject, shorten } from './checks';

/** The reference server's limit; its docs say 64, but what it accepted is what clients send. */
const MAX_LABEL_CHARS = 512;

/** Keys are kept plain so that the list filter's `constraint=key=value` can always name them. */
const LABEL_KEY = /^[a-zA-Z0-9]+$/;

/**
 * Python's `\w` (the reference pattern is `^[\w\-_./]+$`) matches letters and digits of any
 * script, so the Unicode classes stand in for JavaScript's ASCII-only `\w`.
 */
const LABEL_VALUE = /^[\p{L}\p{N}_\-./]+$/u;

export function validateLabels(value: unknown): Readonly<Record<string, string>> {
  const input = requireObject(value, 'labels');

  const entries = Object.entries(input).map(([key, labelValue]) => {
    if (key.length > MAX_LABEL_CHARS || !LABEL_KEY.test(key)) {
      throw new ValidationError(
        `invalid label key ${quote(key)}: use letters and digits only, ` +
          `at most ${MAX_LABEL_CHARS} characters`,
      );
    }
    const field = `labels.${shorten(key)}`;
    if (typeof labelValue !== 'string') {
      throw new ValidationError(`${field} must be a string, got ${describeValue(labelValue)}`);
    }
    if (labelValue.length > MAX_LABEL_CHARS || !LABEL_VALUE.test(labelValue)) {
      throw new ValidationError(
        `${field} has an invalid value ${quote(labelValue)}: use letters, digits and ` +
          `_ - . / only, at least 1 and at most ${MAX_LABEL_CHARS} characters`,
      );
    }
    return [key, labelValue] as const;
  });

  return Object.fromEntries(entries);
}
