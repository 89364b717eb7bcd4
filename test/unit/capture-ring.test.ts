/** The capture ring (ts/capture/ring.ts) between a port's loop and the capture writer, without a port. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRingBuffer, KIND_OUT, KIND_RX, RECORD_HEADER, RingConsumer, RingProducer, type CaptureRecordView } from '../../ts/capture/ring.js';

const frame = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 255);

test('records come out as pushed: bytes, snap length, original length of a jumbo frame, kind, verdict, queue, time', () => {
  const buf = createRingBuffer(4096);
  const producer = new RingProducer(buf, 100);
  const consumer = new RingConsumer(buf);
  const umem = new Uint8Array(8192);
  umem.set(frame(300, 1), 2048);
  // A jumbo frame: 300 contiguous bytes of a 9014-byte frame; snap length 100.
  assert.equal(producer.push(umem, 2048, 300, 9014, KIND_RX, 0, 3, 17, 1700000000, 123456789), true);
  assert.equal(producer.push(umem, 2048, 60, 60, KIND_OUT, 255, 3, 17, 1700000000, 123456790), true);
  const out: CaptureRecordView[] = [];
  assert.equal(consumer.drain(out), 2);
  assert.deepEqual(out[0]!.data, frame(300, 1).subarray(0, 100));
  assert.equal(out[0]!.originalLength, 9014);
  assert.deepEqual([out[0]!.kind, out[0]!.verdict, out[0]!.queue, out[0]!.seq, out[0]!.seconds, out[0]!.nanoseconds], [KIND_RX, 0, 3, 17, 1700000000, 123456789]);
  assert.deepEqual([out[1]!.kind, out[1]!.verdict, out[1]!.data.length, out[1]!.originalLength], [KIND_OUT, 255, 60, 60]);
  assert.equal(producer.dropped, 0);
});

test('a full ring drops records (counted) instead of waiting; space comes back as the writer drains, across the wrap', () => {
  const buf = createRingBuffer(4096);
  const producer = new RingProducer(buf, 2048);
  const consumer = new RingConsumer(buf);
  const src = frame(1000, 5);
  const size = (RECORD_HEADER + 1000 + 3) & ~3;
  let accepted = 0;
  for (let i = 0; i < 10; i++) if (producer.push(src, 0, 1000, 1000, KIND_RX, 0, 0, i, 0, 0)) accepted++;
  assert.equal(accepted, Math.floor(4096 / size), 'as many as fit');
  assert.equal(producer.dropped, 10 - accepted);
  const seen: number[] = [];
  // Many rounds of push then drain: records cross the end of the area (skip marker) intact.
  for (let round = 0; round < 50; round++) {
    const out: CaptureRecordView[] = [];
    consumer.drain(out);
    for (const r of out) {
      assert.deepEqual(r.data, src);
      seen.push(r.seq);
    }
    for (let i = 0; i < 3; i++) assert.equal(producer.push(src, 0, 1000, 1000, KIND_RX, 0, 0, 100 + round * 3 + i, 0, 0), true, `round ${round}`);
  }
  assert.equal(seen.length, accepted + 49 * 3);
  assert.deepEqual(seen.slice(accepted), Array.from({ length: 49 * 3 }, (_, i) => 100 + i), 'in order, none lost once there was room');
});
