/**
 * A unit test of the reflector handler (reflector.ts), offline: no root, no
 * NIC, no native addon, so it runs on macOS and Windows too. runHandler runs
 * the handler over frames the way the data path does and reports verdicts
 * and the frames sent.
 *
 *   npm install afxdp && npm install -D tsx
 *   node --import tsx --test reflector.test.ts
 *
 * (in a package with "type": "module"; see README.md, "Testing handlers").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildUdp, runHandler } from 'afxdp';
import reflect from './reflector.js';

const request = buildUdp({
  srcMac: '02:00:00:00:00:02', dstMac: '02:00:00:00:00:01',
  src: '192.0.2.2', dst: '192.0.2.1', srcPort: 40000, dstPort: 7,
  payload: 'ping',
});

test('a UDP frame goes back with MACs, addresses and ports swapped', () => {
  const r = runHandler(reflect, [request]);
  assert.deepEqual(r.verdicts, ['tx']);
  const reply = r.sent[0]!;
  assert.deepEqual(reply.subarray(0, 6), request.subarray(6, 12), 'destination MAC is the sender');
  assert.deepEqual(reply.subarray(26, 30), request.subarray(30, 34), 'source IP is the old destination');
  assert.deepEqual(reply.subarray(30, 34), request.subarray(26, 30), 'destination IP is the old source');
  assert.equal((reply[36]! << 8) | reply[37]!, 40000, 'destination port is the old source port');
});

test('anything that is not IPv4 UDP is dropped', () => {
  const runt = new Uint8Array(20);
  const r = runHandler(reflect, [runt]);
  assert.deepEqual(r.verdicts, ['drop']);
  assert.equal(r.counts.handlerErrors, 0);
});
