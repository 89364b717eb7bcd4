/**
 * Verdict.Pass on a real veth lab: frames the handler passes reach the
 * kernel stack of the DUT as if received on its interface, in native and
 * skb mode, and are never steered back into AF_XDP.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { open, Verdict, type Lab, type Packet, type Port } from '../../ts/index.js';
import { PacketParser, ParseStatus, decrementTtl } from '../../ts/packet/index.js';
import { udpFrame } from '../helpers/frames.js';
import { peer, requirePrivileges, until, withLab } from '../helpers/priv.js';

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
      assert.equal(s.dropped, others, 'everything else was dropped by the handler');
      await port.close();
      await loop;
      assertAccounting(port);
    });
  });
}

/** A UDP receiver in the DUT namespace that prints "<length> <ttl>" per datagram (IP_RECVTTL). */
function ttlReceiver(lab: Lab, port: number, count: number): { ready: Promise<void>; lines: Promise<string[]> } {
  const script = `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, getattr(socket, "IP_RECVTTL", 12), 1)  # 12 on Linux
s.bind(("${lab.dut.ipv4}", ${port}))
s.settimeout(10)
print("ready", file=sys.stderr, flush=True)
for _ in range(${count}):
    data, anc, _flags, _addr = s.recvmsg(4096, socket.CMSG_SPACE(4))
    print(len(data), int.from_bytes(anc[0][2][:4], sys.byteorder), flush=True)
`;
  const child = spawn('ip', ['netns', 'exec', lab.dut.ns, 'python3', '-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let onReady!: () => void;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => {
    err += d;
    if (/^ready$/m.test(err)) onReady();
  });
  const lines = new Promise<string[]>((resolve, reject) => {
    child.on('close', (code) => (code === 0 ? resolve(out.trim().split('\n')) : reject(new Error(`receiver: ${err}`))));
  });
  return { ready, lines };
}

for (const mode of ['native', 'skb'] as const) {
  test(`pass (${mode}): an edited frame (TTL decremented) reaches the kernel as edited`, async (t) => {
    if (!requirePrivileges(t)) return;
    await withLab({}, async (lab) => {
      await using port = await open({ interface: lab.dut.ifname, mode });
      const parser = new PacketParser();
      const loop = port.run((p) => {
        if (parser.parseFrame(p) === ParseStatus.Ok && parser.ipVersion === 4) decrementTtl(parser);
        return Verdict.Pass;
      });
      const count = 20;
      const rx = ttlReceiver(lab, 7777, count);
      await rx.ready;
      const frames = Array.from({ length: count }, (_, i) => udpFrame({
        dstMac: lab.dut.mac, srcMac: lab.peer.mac, srcIp: lab.peer.ipv4, dstIp: lab.dut.ipv4,
        srcPort: 5000, dstPort: 7777, length: 60 + i * 50, seed: i + 1,
      }));
      await peer(lab, { send: frames });
      const lines = await rx.lines;
      assert.equal(lines.length, count);
      for (let i = 0; i < count; i++) assert.equal(lines[i], `${60 + i * 50 - 42} 63`, `datagram ${i}: sent with TTL 64`);
      await port.close();
      await loop;
      assertAccounting(port);
    });
  });

  test(`pass (${mode}): a TCP exchange with a DUT listener works with every packet through the handler`, async (t) => {
    if (!requirePrivileges(t)) return;
    await withLab({}, async (lab) => {
      await using port = await open({ interface: lab.dut.ifname, mode }); // steer all
      let seen = 0;
      const loop = port.run(() => {
        seen++;
        return Verdict.Pass;
      });
      const server = createServer((sock) => sock.pipe(sock)); // echo
      await new Promise<void>((resolve) => server.listen(0, lab.dut.ipv4, resolve));
      const { port: tcpPort } = server.address() as AddressInfo;
      try {
        const client = `
import socket
s = socket.create_connection(("${lab.dut.ipv4}", ${tcpPort}), timeout=10)
data = bytes((i * 7) & 255 for i in range(200000))
s.sendall(data)
s.shutdown(socket.SHUT_WR)
got = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    got += chunk
print("ok" if got == data else "mismatch %d" % len(got))
`;
        const { stdout } = await inNs(lab.peer.ns, 'python3', ['-c', client]);
        assert.equal(stdout.trim(), 'ok');
      } finally {
        server.close();
      }
      const s = port.stats();
      assert.ok(seen > 0 && s.passed === seen, `handler saw ${seen}, passed ${s.passed}`);
      assert.equal(s.passFailed, 0);
      assert.equal(s.steering.passedPackets, 0, 'nothing reached the kernel around the handler');
      await port.close();
      await loop;
      assertAccounting(port);
    });
  });

  test(`pass (${mode}): no loop — each passed frame is seen by the handler once, counters stay put`, async (t) => {
    if (!requirePrivileges(t)) return;
    await withLab({}, async (lab) => {
      await using port = await open({ interface: lab.dut.ifname, mode });
      const loop = port.run(() => Verdict.Pass);
      const count = 3000;
      const frames = Array.from({ length: count }, (_, i) => udpFrame({
        dstMac: lab.dut.mac, srcMac: lab.peer.mac, srcIp: lab.peer.ipv4, dstIp: lab.dut.ipv4,
        srcPort: 5000 + (i % 100), dstPort: 9, length: 60 + (i % 1000), seed: i + 1,
      }));
      await peer(lab, { send: frames });
      assert.ok(await until(() => port.stats().passed >= count), `passed ${port.stats().passed}`);
      // A frame steered back would be passed again, and again: the counters would run away.
      await new Promise((r) => setTimeout(r, 500));
      const s = port.stats();
      assert.ok(s.rx >= count && s.rx < count + 50, `rx ${s.rx} for ${count} frames sent`);
      assert.equal(s.passed, s.rx);
      await port.close();
      await loop;
      assertAccounting(port);
    });
  });
}
