import { TaskRunnerError } from '../../core/src/errors';
import type { LogStream, TaskOutput } from '../../core/src/ports';

export interface LogPiece {
  readonly stream: LogStream;
  readonly data: Buffer;
}

const HEADER_BYTES = 8;

/**
 * Splits the engine's multiplexed log stream (containers without a TTY) into stdout and
 * stderr pieces. Each frame is an 8-byte header (stream type, three zero bytes, big-endian
 * payload length) and its payload; chunks from the socket cut frames anywhere.
 *
 * A frame's payload is handed out as soon as its bytes arrive rather than once the frame is
 * whole, so one large frame is never held in memory twice.
 */
export class LogDemuxer {
  private readonly header = Buffer.alloc(HEADER_BYTES);
  private headerFilled = 0;
  private stream: LogStream = 'stdout';
  private payloadLeft = 0;

  /** The pieces that `chunk` completes, in order; empty payloads yield nothing. */
  push(chunk: Buffer): LogPiece[] {
    const pieces: LogPiece[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.payloadLeft > 0) {
        const end = Math.min(chunk.length, at + this.payloadLeft);
        pieces.push({ stream: this.stream, data: chunk.subarray(at, end) });
        this.payloadLeft -= end - at;
        at = end;
        continue;
      }
      const copied = chunk.copy(
        this.header,
        this.headerFilled,
        at,
        at + HEADER_BYTES - this.headerFilled,
      );
      this.headerFilled += copied;
      at += copied;
      if (this.headerFilled === HEADER_BYTES) this.startFrame();
    }
    return mergeNeighbours(pieces);
  }

  /** Whether the stream ended in the middle of a frame, i.e. was cut short. */
  get midFrame(): boolean {
    return this.headerFilled > 0 || this.payloadLeft > 0;
  }

  private startFrame(): void {
    const type = this.header[0];
    // Type 0 is stdin, which the engine only echoes when stdin is attached; it reads as stdout.
    if (type === 0 || type === 1) this.stream = 'stdout';
    else if (type === 2) this.stream = 'stderr';
    else throw new TaskRunnerError(`Malformed container log stream (frame type ${type})`);
    this.payloadLeft = this.header.readUInt32BE(4);
    this.headerFilled = 0;
  }
}

/** Joins consecutive pieces of the same stream so that sinks get fewer, larger writes. */
function mergeNeighbours(pieces: LogPiece[]): LogPiece[] {
  const runs: { stream: LogStream; parts: Buffer[] }[] = [];
  for (const piece of pieces) {
    const last = runs.at(-1);
    if (last?.stream === piece.stream) last.parts.push(piece.data);
    else runs.push({ stream: piece.stream, parts: [piece.data] });
  }
  return runs.map(({ stream, parts }) => ({
    stream,
    data: parts.length === 1 && parts[0] ? parts[0] : Buffer.concat(parts),
  }));
}

/**
 * Writes a multiplexed log stream into `output`, one awaited write at a time, and says whether
 * it ended on a frame boundary. `written` counts what earlier readings of the same log wrote:
 * a reading from the start again writes only what they missed, and adds to the counts.
 */
export async function demuxInto(
  frames: AsyncIterable<Buffer>,
  output: TaskOutput,
  written: Record<LogStream, number>,
): Promise<boolean> {
  const demuxer = new LogDemuxer();
  const read: Record<LogStream, number> = { stdout: 0, stderr: 0 };
  for await (const chunk of frames) {
    for (const { stream, data } of demuxer.push(chunk)) {
      const fresh = data.subarray(Math.max(0, written[stream] - read[stream]));
      read[stream] += data.length;
      if (fresh.length === 0) continue;
      await output[stream].write(fresh);
      written[stream] += fresh.length;
    }
  }
  return !demuxer.midFrame;
}
