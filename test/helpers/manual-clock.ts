import type { Clock } from '../../core/src/ports';
import { TEST_EPOCH_MS } from './job-records';

/** A clock that stands still until a test moves it, so times in assertions are exact. */
export class ManualClock implements Clock {
  #nowMs: number;

  constructor(startMs = TEST_EPOCH_MS) {
    this.#nowMs = startMs;
  }

  nowMs(): number {
    return this.#nowMs;
  }

  /** Unix seconds, as job records keep them. */
  nowSeconds(): number {
    return Math.floor(this.#nowMs / 1000);
  }

  advance(ms: number): void {
    this.#nowMs += ms;
  }

  set(ms: number): void {
    this.#nowMs = ms;
  }
}
