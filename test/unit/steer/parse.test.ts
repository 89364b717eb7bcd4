import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SteerSyntaxError, parseSteer, steerRuleSet, type Match } from '../../../ts/steer/index.js';

const udp: Match = { kind: 'proto', value: 17 };
const tcp: Match = { kind: 'proto', value: 6 };

test('the issue example: udp dst port 53', () => {
  assert.deepEqual(parseSteer('udp dst port 53'), {
    kind: 'and',
    of: [udp, { kind: 'port', dir: 'dst', from: 53, to: 53 }],
  });
  assert.deepEqual(steerRuleSet('udp dst port 53'), {
    rules: [
      { name: 'udp dst port 53', action: 'steer', match: parseSteer('udp dst port 53') },
    ],
    default: 'pass',
  });
  assert.equal(steerRuleSet('arp', 'drop', 'steer').default, 'steer');
});

test('protocols, versions, ethertypes and VLANs', () => {
  assert.deepEqual(parseSteer('tcp'), tcp);
  // As in libpcap, icmp is IPv4's protocol 1 and icmp6 IPv6's 58 (issue 15).
  assert.deepEqual(parseSteer('icmp'), { kind: 'and', of: [{ kind: 'ip', version: 4 }, { kind: 'proto', value: 1 }] });
  assert.deepEqual(parseSteer('icmp6'), { kind: 'and', of: [{ kind: 'ip', version: 6 }, { kind: 'proto', value: 58 }] });
  assert.throws(() => parseSteer('icmp host 192.0.2.1'), /mixes a transport protocol with addresses/);
  assert.deepEqual(parseSteer('ip'), { kind: 'ip', version: 4 });
  assert.deepEqual(parseSteer('ip6'), { kind: 'ip', version: 6 });
  assert.deepEqual(parseSteer('arp'), { kind: 'ethertype', value: 0x0806 });
  assert.deepEqual(parseSteer('ether proto 0x88cc'), { kind: 'ethertype', value: 0x88cc });
  assert.deepEqual(parseSteer('ether proto \\ip6'), { kind: 'ethertype', value: 0x86dd });
  assert.deepEqual(parseSteer('proto 47'), { kind: 'proto', value: 47 });
  assert.deepEqual(parseSteer('proto gre'), { kind: 'proto', value: 47 });
  assert.deepEqual(parseSteer('ip6 proto udp'), { kind: 'and', of: [{ kind: 'ip', version: 6 }, udp] });
  assert.deepEqual(parseSteer('vlan'), { kind: 'vlan' });
  assert.deepEqual(parseSteer('vlan 100 and udp'), { kind: 'and', of: [{ kind: 'vlan', id: 100 }, udp] });
});

test('hosts, nets and directions', () => {
  assert.deepEqual(parseSteer('host 192.0.2.1'), { kind: 'net', dir: 'any', prefixes: ['192.0.2.1'] });
  assert.deepEqual(parseSteer('src net 198.51.100.0/24'), { kind: 'net', dir: 'src', prefixes: ['198.51.100.0/24'] });
  assert.deepEqual(parseSteer('dst net 2001:db8::/32'), { kind: 'net', dir: 'dst', prefixes: ['2001:db8::/32'] });
  assert.deepEqual(parseSteer('src 192.0.2.7'), { kind: 'net', dir: 'src', prefixes: ['192.0.2.7'] });
  assert.deepEqual(parseSteer('src or dst host ::ffff:192.0.2.1'), { kind: 'net', dir: 'any', prefixes: ['::ffff:192.0.2.1'] });
  assert.deepEqual(parseSteer('src and dst net 10.0.0.0/8'), {
    kind: 'and',
    of: [
      { kind: 'net', dir: 'src', prefixes: ['10.0.0.0/8'] },
      { kind: 'net', dir: 'dst', prefixes: ['10.0.0.0/8'] },
    ],
  });
  assert.deepEqual(parseSteer('ip6 host 2001:db8::1'), {
    kind: 'and',
    of: [{ kind: 'ip', version: 6 }, { kind: 'net', dir: 'any', prefixes: ['2001:db8::1'] }],
  });
});

test('ports and port ranges', () => {
  assert.deepEqual(parseSteer('port 9'), { kind: 'port', dir: 'any', from: 9, to: 9 });
  assert.deepEqual(parseSteer('tcp src portrange 1000-2000'), {
    kind: 'and',
    of: [tcp, { kind: 'port', dir: 'src', from: 1000, to: 2000 }],
  });
  // tcpdump's abbreviation: a bare id reuses the qualifiers before it.
  assert.deepEqual(parseSteer('udp dst port 53 or 853'), {
    kind: 'or',
    of: [
      { kind: 'and', of: [udp, { kind: 'port', dir: 'dst', from: 53, to: 53 }] },
      { kind: 'and', of: [udp, { kind: 'port', dir: 'dst', from: 853, to: 853 }] },
    ],
  });
});

test('and, or, not, parentheses and precedence', () => {
  // and binds tighter than or.
  assert.deepEqual(parseSteer('tcp or udp and port 53'), {
    kind: 'or',
    of: [tcp, { kind: 'and', of: [udp, { kind: 'port', dir: 'any', from: 53, to: 53 }] }],
  });
  assert.deepEqual(parseSteer('(tcp or udp) && port 53'), {
    kind: 'and',
    of: [{ kind: 'or', of: [tcp, udp] }, { kind: 'port', dir: 'any', from: 53, to: 53 }],
  });
  assert.deepEqual(parseSteer('not arp'), { kind: 'not', of: { kind: 'ethertype', value: 0x0806 } });
  assert.deepEqual(parseSteer('!(tcp||udp)'), { kind: 'not', of: { kind: 'or', of: [tcp, udp] } });
  assert.deepEqual(parseSteer('not not tcp'), { kind: 'not', of: { kind: 'not', of: tcp } });
  assert.deepEqual(parseSteer('UDP and DST PORT 53'), parseSteer('udp and dst port 53'));
});

function syntaxError(expr: string, position: number, pattern: RegExp): void {
  assert.throws(
    () => parseSteer(expr),
    (e: unknown) => {
      assert.ok(e instanceof SteerSyntaxError, String(e));
      assert.equal(e.code, 'ERR_INVALID_OPTION');
      assert.equal(e.position, position, `${expr}: ${e.message}`);
      assert.match(e.message, pattern);
      // The caret line points at the token.
      const lines = e.message.split('\n');
      assert.equal(lines[2]!.indexOf('^'), 2 + position, e.message);
      return true;
    },
    expr,
  );
}

test('errors point at the bad token', () => {
  syntaxError('', 0, /empty expression/);
  syntaxError('udp dst prot 53', 8, /unknown primitive 'prot'/);
  syntaxError('udp dst port', 12, /expected a port, but the expression ends/);
  syntaxError('port 65536', 5, /outside 0\.\.65535/);
  syntaxError('port http', 5, /expected a port number/);
  syntaxError('portrange 2000-1000', 10, /empty/);
  syntaxError('portrange 80', 10, /port range like/);
  syntaxError('host 192.0.2.300', 5, /IPv4 or IPv6 address/);
  syntaxError('host 192.0.2.0/24', 5, /use 'net/);
  syntaxError('net 192.0.2.0/33', 4, /outside 0\.\.32/);
  syntaxError('net 2001:db8:::/32', 4, /IPv4 or IPv6 address/);
  syntaxError('(tcp or udp', 0, /unclosed '\('/);
  syntaxError('tcp)', 3, /unbalanced '\)'/);
  syntaxError('tcp udp', 4, /unexpected 'udp'/);
  syntaxError('tcp and', 7, /expression ends/);
  syntaxError('vlan 4096', 5, /outside 0\.\.4095/);
  syntaxError('ether 0x800', 6, /'proto' after 'ether'/);
  syntaxError('proto bogus', 6, /unknown protocol 'bogus'/);
  syntaxError('ip port 80', 3, /use tcp, udp or sctp/);
  syntaxError('tcp host 192.0.2.1', 4, /use 'ip' or 'ip6'/);
  syntaxError('53', 0, /unknown primitive '53'/);
});

test('the output is plain JSON data', () => {
  const set = steerRuleSet('vlan 7 and (udp dst port 53 or tcp dst portrange 8000-8080) and not src net 198.51.100.0/24');
  assert.deepEqual(JSON.parse(JSON.stringify(set)), set);
});
