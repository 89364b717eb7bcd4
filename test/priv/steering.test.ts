/**
 * The kernel fast path on a veth pair: steering rules keep what the handler
 * does not want with the kernel stack, the drop list drops in XDP, and
 * offloaded flows get their verdict in the kernel.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { open, Verdict, type Lab } from '../../ts/index.js';
import { udpFrame } from '../helpers/frames.js';
import { peer, requirePrivileges, until, withLab } from '../helpers/priv.js';

const execFileAsync = promisify(execFile);

function frames(lab: Lab, count: number, dstPort: number, srcPort = 40000): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => udpFrame({
    dstMac: lab.dut.mac, srcMac: lab.peer.mac, srcIp: lab.peer.ipv4, dstIp: lab.dut.ipv4,
    srcPort, dstPort, length: 60 + (i % 100), seed: i,
  }));
}

async function tcpConnectFromPeer(lab: Lab, port: number): Promise<string> {
  const script = `import socket; s = socket.create_connection(("${lab.dut.ipv4}", ${port}), timeout=3); print(s.recv(16).decode())`;
  const { stdout } = await execFileAsync('ip', ['netns', 'exec', lab.peer.ns, 'python3', '-c', script]);
  return stdout.trim();
}

test('udp dst port 9 steered: those frames reach the handler, ping and TCP stay with the kernel', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLab({}, async (lab) => {
    // A TCP listener in the handler's namespace (this thread is in it).
    const server = createServer((sock) => sock.end('hello'));
    await new Promise<void>((r) => server.listen(8080, lab.dut.ipv4, r));
    const port = await open({ interface: lab.dut.ifname, steer: 'udp dst port 9' });
    try {
      assert.equal(port.rules.get().default, 'pass');
      let seen = 0;
      let notPort9 = 0;
      const loop = port.run((p) => {
        seen++;
        if (p.u16(36) !== 9) notPort9++;
        return Verdict.Drop;
      });
      await peer(lab, { send: [...frames(lab, 300, 9), ...frames(lab, 200, 10)] });
      lab.exec(lab.peer, 'ping', ['-c', '2', '-i', '0.2', '-W', '1', lab.dut.ipv4]);
      assert.equal(await tcpConnectFromPeer(lab, 8080), 'hello');
      assert.ok(await until(() => seen === 300), `handler saw ${seen}`);
      assert.equal(notPort9, 0, 'only UDP port 9 reached the handler');
      const s = port.stats();
      assert.equal(s.steering.steeredPackets, 300);
      assert.ok(s.steering.passedPackets >= 200 + 2, `passed ${s.steering.passedPackets}`);
      const [rule, dflt] = s.steering.rules;
      assert.equal(rule!.packets, 300);
      assert.equal(rule!.action, 'steer');
      assert.equal(dflt!.rule, -1);
      assert.ok(dflt!.packets >= 202);
      await port.close();
      await loop;
    } finally {
      server.close();
      await port.close();
    }
  });
});

test('port.rules changes steering at runtime; a bad expression points at the token', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLab({}, async (lab) => {
    const port = await open({ interface: lab.dut.ifname, steer: 'udp dst port 9' });
    let seen = 0;
    const loop = port.run(() => {
      seen++;
      return Verdict.Drop;
    });
    await peer(lab, { send: frames(lab, 100, 10) });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(seen, 0, 'port 10 is not steered yet');
    port.rules.set('udp dst portrange 10-11');
    await peer(lab, { send: frames(lab, 100, 10) });
    assert.ok(await until(() => seen === 100), `handler saw ${seen}`);
    assert.throws(() => port.rules.set('udp dst port banana'), (err: any) => {
      assert.equal(err.code, 'ERR_INVALID_OPTION');
      assert.match(err.message, /banana/);
      return true;
    });
    assert.equal(port.rules.get().rules[0]!.name, 'udp dst portrange 10-11', 'a failed set changes nothing');
    // A set that takes ARP/ND from the kernel is installed, with a process
    // warning saying how to fix it (issue 15); a harmless one warns nothing.
    const warnings: (Error & { code?: string })[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      port.rules.set('udp dst portrange 10-11');
      port.rules.set(`host ${lab.peer.ipv4}`);
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    assert.deepEqual(warnings.map((w) => w.code), ['AFXDP_STEER_REACHABILITY']);
    assert.match(warnings[0]!.message, new RegExp(`steer ARP frames .*use 'ip host ${lab.peer.ipv4.replace(/\./g, '\\.')}'`));
    assert.equal(port.rules.get().rules[0]!.name, `host ${lab.peer.ipv4}`, 'installed all the same');
    await port.close();
    await loop;
  });
});

test('a blocked prefix is dropped in XDP (handler never sees it, counter rises) and flows once unblocked', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLab({}, async (lab) => {
    const port = await open({ interface: lab.dut.ifname });
    let seen = 0;
    const loop = port.run(() => {
      seen++;
      return Verdict.Drop;
    });
    port.kernel.block('192.0.2.0/28', { ttl: 600 });
    await peer(lab, { send: frames(lab, 200, 9) });
    assert.ok(await until(() => port.kernel.blocked()[0]?.packets === 200), JSON.stringify(port.kernel.blocked()));
    assert.equal(seen, 0);
    const [entry] = port.kernel.blocked();
    assert.equal(entry!.prefix, '192.0.2.0/28');
    assert.ok(entry!.expiresIn! > 500 && entry!.expiresIn! <= 600);
    assert.equal(port.stats().steering.blocked, 200);
    assert.equal(port.kernel.unblock('192.0.2.0/28'), true);
    await peer(lab, { send: frames(lab, 200, 9) });
    assert.ok(await until(() => seen === 200), `handler saw ${seen} after unblock`);
    await port.close();
    await loop;
  });
});

test('an offloaded flow stops reaching the handler and comes back after its TTL', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLab({}, async (lab) => {
    const port = await open({ interface: lab.dut.ifname });
    let seen = 0;
    const loop = port.run((p) => {
      seen++;
      return p.offload(Verdict.Drop, { ttl: 3 });
    });
    const flow = frames(lab, 100, 9, 41000);
    await peer(lab, { send: flow.slice(0, 1) });
    assert.ok(await until(() => seen === 1));
    const [entry] = port.kernel.offloads();
    assert.deepEqual(
      { ...entry, expiresIn: undefined, packets: undefined, bytes: undefined },
      { protocol: 17, src: lab.peer.ipv4, dst: lab.dut.ipv4, srcPort: 41000, dstPort: 9, action: 'drop', expiresIn: undefined, packets: undefined, bytes: undefined },
    );
    await peer(lab, { send: flow.slice(1) });
    assert.ok(await until(() => port.stats().steering.offloadHits === 99), `offload hits ${port.stats().steering.offloadHits}`);
    assert.equal(seen, 1, 'the rest of the flow was decided in the kernel');
    // Another flow still reaches the handler.
    await peer(lab, { send: frames(lab, 10, 9, 42000).slice(0, 1) });
    assert.ok(await until(() => seen === 2));
    await new Promise((r) => setTimeout(r, 3500));
    await peer(lab, { send: flow.slice(0, 5) });
    assert.ok(await until(() => seen >= 3), 'after the TTL the flow reaches the handler again');
    await port.close();
    await loop;
  });
});
