/**
 * Verdict.Pass on a real veth lab: frames the handler passes reach the
 * kernel stack of the DUT as if received on its interface, in native and
 * skb mode, and are never steered back into AF_XDP.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { open, Verdict, type Lab, type Packet, type Port } from '../../ts/index.js';
import { requirePrivileges, withLab } from '../helpers/priv.js';

const exec = promisify(execFile);

function assertAccounting(port: Port): void {
  const a = port.frameAccounting();
  assert.equal(a.consistent, true, `frame accounting inconsistent: ${JSON.stringify(a)}`);
}

function inNs(ns: string, cmd: string, args: string[]) {
  return exec('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8' });
}

/** Static neighbours both ways: ARP would otherwise go through the handler. */
async function staticNeighbours(lab: Lab): Promise<void> {
  await inNs(lab.peer.ns, 'ip', ['neigh', 'replace', lab.dut.ipv4, 'lladdr', lab.dut.mac, 'dev', lab.peer.ifname, 'nud', 'permanent']);
  await inNs(lab.dut.ns, 'ip', ['neigh', 'replace', lab.peer.ipv4, 'lladdr', lab.peer.mac, 'dev', lab.dut.ifname, 'nud', 'permanent']);
}

function isIcmpEchoRequest(p: Packet): boolean {
  return p.length >= 42 && p.u16(12) === 0x0800 && p.u8(23) === 1 && p.u8(14 + (p.u8(14) & 15) * 4) === 8;
}

for (const mode of ['native', 'skb'] as const) {
  test(`pass (${mode}): ping gets kernel replies through a handler that passes echo requests and drops the rest`, async (t) => {
    if (!requirePrivileges(t)) return;
    await withLab({}, async (lab) => {
      await staticNeighbours(lab);
      await using port = await open({ interface: lab.dut.ifname, mode });
      assert.equal(port.stats().attachMode, mode);
      let requests = 0;
      let others = 0;
      const loop = port.run((p) => {
        if (isIcmpEchoRequest(p)) {
          requests++;
          return Verdict.Pass;
        }
        others++;
        return Verdict.Drop;
      });
      const { stdout } = await inNs(lab.peer.ns, 'ping', ['-c', '5', '-i', '0.2', '-W', '2', lab.dut.ipv4]);
      assert.match(stdout, /5 packets transmitted, 5 received/);
      const s = port.stats();
      assert.equal(s.passed, requests, `stats ${JSON.stringify(s)}`);
      assert.equal(requests, 5, 'each request went through the handler once: none came back to AF_XDP');
      assert.equal(s.passFailed, 0);
      await port.close();
      await loop;
      assertAccounting(port);
    });
  });
}
