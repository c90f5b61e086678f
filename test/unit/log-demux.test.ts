import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LogDemuxer, type LogPiece } from '../../adapters/docker/log-demux';
import { TaskRunnerError } from '../../core/src/errors';

function frame(type: number, payload: string): Buffer {
  const header = Buffer.alloc(8);
  header[0] = type;
  header.writeUInt32BE(Buffer.byteLength(payload), 4);
  return Buffer.concat([header, Buffer.from(payload)]);
}

function collect(pieces: readonly LogPiece[]): { stdout: string; stderr: string } {
  const out = { stdout: '', stderr: '' };
  for (const piece of pieces) out[piece.stream] += piece.data.toString();
  return out;
}

const STREAM = Buffer.concat([
  frame(1, 'hello '),
  frame(2, 'oops\n'),
  frame(1, ''),
  frame(1, 'world\n'),
  frame(2, ''),
  frame(2, 'second error\n'),
]);

describe('LogDemuxer', () => {
  it('separates stdout and stderr from a stream read in one chunk', () => {
    // Prepare
    const demuxer = new LogDemuxer();

    // Act
    const out = collect(demuxer.push(STREAM));

    // Assess
    assert.deepEqual(out, { stdout: 'hello world\n', stderr: 'oops\nsecond error\n' });
    assert.equal(demuxer.midFrame, false);
  });

  it('gives the same output wherever the stream is cut in two', () => {
    for (let cut = 0; cut <= STREAM.length; cut += 1) {
      // Prepare
      const demuxer = new LogDemuxer();

      // Act
      const pieces = [
        ...demuxer.push(STREAM.subarray(0, cut)),
        ...demuxer.push(STREAM.subarray(cut)),
      ];

      // Assess
      const out = collect(pieces);
      assert.deepEqual(
        out,
        { stdout: 'hello world\n', stderr: 'oops\nsecond error\n' },
        `cut ${cut}`,
      );
      assert.equal(demuxer.midFrame, false);
    }
  });

  it('keeps the order of pieces when fed one byte at a time', () => {
    // Prepare
    const demuxer = new LogDemuxer();
    const pieces: LogPiece[] = [];

    // Act
    for (const byte of STREAM) pieces.push(...demuxer.push(Buffer.from([byte])));

    // Assess
    const order = pieces.map((piece) => piece.stream).filter((s, i, all) => s !== all[i - 1]);
    assert.deepEqual(order, ['stdout', 'stderr', 'stdout', 'stderr']);
    assert.deepEqual(collect(pieces), { stdout: 'hello world\n', stderr: 'oops\nsecond error\n' });
  });

  it('yields nothing for empty frames', () => {
    // Prepare
    const demuxer = new LogDemuxer();

    // Act
    const pieces = demuxer.push(Buffer.concat([frame(1, ''), frame(2, '')]));

    // Assess
    assert.deepEqual(pieces, []);
    assert.equal(demuxer.midFrame, false);
  });

  it('merges neighbouring frames of one stream into one piece', () => {
    // Prepare
    const demuxer = new LogDemuxer();

    // Act
    const pieces = demuxer.push(Buffer.concat([frame(1, 'a'), frame(1, 'b'), frame(2, 'c')]));

    // Assess
    assert.deepEqual(
      pieces.map((piece) => [piece.stream, piece.data.toString()]),
      [
        ['stdout', 'ab'],
        ['stderr', 'c'],
      ],
    );
  });

  it('reports a stream that ends inside a frame', () => {
    // Prepare
    const demuxer = new LogDemuxer();
    const whole = frame(1, 'truncated');

    // Act
    const out = collect(demuxer.push(whole.subarray(0, whole.length - 3)));

    // Assess
    assert.equal(out.stdout, 'trunca');
    assert.equal(demuxer.midFrame, true);
  });

  it('rejects a frame of an unknown stream type', () => {
    // Prepare
    const demuxer = new LogDemuxer();

    // Act
    const act = (): LogPiece[] => demuxer.push(frame(7, 'x'));

    // Assess
    assert.throws(act, TaskRunnerError);
  });
});
