import { ValidationError } from './errors';

/** Refuses a log read range that no store could serve, with a message a client can act on. */
export function checkLogRange(offsetBytes: number, maxBytes: number): void {
  if (!Number.isSafeInteger(offsetBytes) || offsetBytes < 0) {
    throw new ValidationError(`The offset must be a whole number of bytes, not ${offsetBytes}`);
  }
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) {
    throw new ValidationError(`A log read must ask for at least one byte, not ${maxBytes}`);
  }
}
