import type { JobQueue, QueuedJob, SendOptions } from '../../core/src/ports';

export interface DelayedSend {
  readonly jobId: number;
  readonly delaySeconds: number;
}

/**
 * A JobQueue in memory. A received message stays in flight until it is acknowledged, and
 * `redeliver` plays the part of an expired visibility timeout. `receive` long-polls: with
 * nothing to deliver it waits up to `waitTimeSeconds` for a send. A delayed send stays hidden
 * until `releaseDelayed`, so tests decide when its delay is over.
 */
export class InMemoryJobQueue implements JobQueue {
  /** Every job id sent, in order, including sends that later failed to be delivered. */
  readonly sent: number[] = [];
  readonly acked: string[] = [];
  /** Every send that asked for a delay, in order. */
  readonly delayedSends: DelayedSend[] = [];
  readonly #delayed: QueuedJob[] = [];
  readonly #visible: QueuedJob[] = [];
  readonly #inFlight = new Map<string, QueuedJob>();
  readonly #issued = new Set<string>();
  readonly #wakers = new Set<() => void>();
  #sendFailure: Error | undefined;
  #nextReceipt = 1;

  /** Makes the next `send` throw `error`, as an unreachable queue would. */
  failNextSend(error: Error): void {
    this.#sendFailure = error;
  }

  /** Messages waiting to be received. */
  get visibleCount(): number {
    return this.#visible.length;
  }

  /** Messages received and not yet acknowledged. */
  get inFlightCount(): number {
    return this.#inFlight.size;
  }

  async send(jobId: number, options: SendOptions = {}): Promise<void> {
    options.signal?.throwIfAborted();
    const failure = this.#sendFailure;
    if (failure !== undefined) {
      this.#sendFailure = undefined;
      throw failure;
    }
    this.sent.push(jobId);
    const receipt = `receipt-${this.#nextReceipt++}`;
    this.#issued.add(receipt);
    const delaySeconds = options.delaySeconds ?? 0;
    if (delaySeconds > 0) {
      this.delayedSends.push({ jobId, delaySeconds });
      this.#delayed.push({ jobId, receipt });
      return;
    }
    this.#visible.push({ jobId, receipt });
    for (const wake of this.#wakers) wake();
  }

  /** Makes every delayed message visible, as when its delay has passed. */
  releaseDelayed(): void {
    this.#visible.push(...this.#delayed.splice(0));
    for (const wake of this.#wakers) wake();
  }

  async receive(options: {
    readonly maxMessages: number;
    readonly waitTimeSeconds: number;
    readonly signal?: AbortSignal;
  }): Promise<QueuedJob[]> {
    const { signal } = options;
    signal?.throwIfAborted();
    if (this.#visible.length === 0 && options.waitTimeSeconds > 0) {
      await this.#waitForSend(options.waitTimeSeconds * 1000, signal);
    }
    const taken = this.#visible.splice(0, options.maxMessages);
    for (const message of taken) this.#inFlight.set(message.receipt, message);
    return taken;
  }

  async ack(receipt: string, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (!this.#issued.has(receipt)) {
      throw new Error(`Receipt ${receipt} was never handed out by this queue`);
    }
    // Acknowledging twice is harmless, as it is in SQS.
    this.#inFlight.delete(receipt);
    this.acked.push(receipt);
  }

  /** Makes every unacknowledged message visible again, as when its visibility timeout ends. */
  redeliver(): void {
    this.#visible.push(...this.#inFlight.values());
    this.#inFlight.clear();
  }

  /** Receives exactly one message, without waiting; fails when there is not exactly one. */
  async receiveOne(): Promise<QueuedJob> {
    const messages = await this.receive({ maxMessages: 10, waitTimeSeconds: 0 });
    const [message] = messages;
    if (message === undefined || messages.length !== 1) {
      throw new Error(`Expected one queued message, found ${messages.length}`);
    }
    return message;
  }

  #waitForSend(timeoutMs: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.#wakers.delete(done);
        signal?.removeEventListener('abort', aborted);
        resolve();
      };
      const aborted = () => {
        done();
        reject(signal?.reason);
      };
      const timer = setTimeout(done, timeoutMs);
      this.#wakers.add(done);
      signal?.addEventListener('abort', aborted, { once: true });
    });
  }
}
