/** Parsing `ip -d -j link show` / `bpftool -j link show` into doctor's list of XDP programs. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeProgram, parseXdp, removalHint, xdpKind } from '../../ts/cli/xdp-chain.js';

test('program names tell afxdp, the libxdp dispatcher and xdp-filter apart', () => {
  assert.equal(xdpKind('afxdp_steer'), 'afxdp');
  assert.equal(xdpKind('xdp_dispatcher'), 'libxdp-dispatcher');
  assert.equal(xdpKind('xdpfilt_alw_all'), 'xdp-filter');
  assert.equal(xdpKind('someone_elses'), 'other');
  assert.equal(xdpKind(null), 'other');
});

test('parseXdp: modes, names (from bpftool when ip has none) and the bpf_link holding each', () => {
  // As printed by iproute2 for a program held by netlink in skb mode.
  const skb = parseXdp({ mode: 2, prog: { id: 274, name: 'xdpfilt_alw_all' }, attached: [{ mode: 2, prog: { id: 274, name: 'xdpfilt_alw_all' } }] }, []);
  assert.deepEqual(skb, [{ id: 274, name: 'xdpfilt_alw_all', mode: 'skb', kind: 'xdp-filter', linkId: null }]);
  assert.equal(describeProgram(skb[0]!), 'xdpfilt_alw_all (id 274, skb mode, attached through netlink)');
  assert.equal(removalHint(skb[0]!, 'eth0'), "xdp-filter's program: `xdp-filter unload eth0` removes it");

  const links = [{ id: 7, type: 'xdp', prog_id: 31 }, { id: 8, type: 'tracing', prog_id: 31 }];
  const native = parseXdp({ mode: 1, prog: { id: 31 } }, links, (id) => (id === 31 ? 'xdp_dispatcher' : null));
  assert.deepEqual(native, [{ id: 31, name: 'xdp_dispatcher', mode: 'native', kind: 'libxdp-dispatcher', linkId: 7 }]);
  assert.match(removalHint(native[0]!, 'eth0'), /xdp-loader unload --all eth0/);

  const foreign = parseXdp({ attached: [{ mode: 1, prog: { id: 5, name: 'x' } }] }, [{ id: 9, type: 'xdp', prog_id: 5 }]);
  assert.match(removalHint(foreign[0]!, 'eth0'), /bpftool link detach id 9/);
  const netlink = parseXdp({ attached: [{ mode: 1, prog: { id: 5, name: 'x' } }] }, []);
  assert.match(removalHint(netlink[0]!, 'eth0'), /ip link set dev eth0 xdpdrv off/);
  assert.deepEqual(parseXdp(undefined, []), []);
});
