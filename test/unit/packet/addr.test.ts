import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Cidr,
  PacketError,
  formatIP,
  formatIPv4,
  formatIPv6,
  formatMac,
  parseCidr,
  parseIP,
  parseIPv4,
  parseIPv4Bytes,
  parseIPv6,
  parseMac,
} from '../../../ts/packet/index.js';

const code = (c: string) => (e: unknown) => e instanceof PacketError && e.code === c;

test('MAC text <-> bytes', () => {
  assert.deepEqual(parseMac('00:1A:2b:3c:4D:ff'), Uint8Array.of(0, 0x1a, 0x2b, 0x3c, 0x4d, 0xff));
  assert.deepEqual(parseMac('00-1a-2b-3c-4d-ff'), Uint8Array.of(0, 0x1a, 0x2b, 0x3c, 0x4d, 0xff));
  assert.equal(formatMac(Uint8Array.of(9, 0, 0, 0x1a, 0x2b, 0x3c, 0x4d, 0xff), 2), '00:1a:2b:3c:4d:ff');
  for (const bad of ['', '00:1a:2b:3c:4d', '00:1a:2b:3c:4d:ff:00', '00:1a-2b:3c:4d:ff', 'gg:1a:2b:3c:4d:ff', '0:1a:2b:3c:4d:ff']) {
    assert.throws(() => parseMac(bad), code('ERR_INVALID_ADDRESS'), bad);
  }
});

test('IPv4 text <-> number and bytes', () => {
  assert.equal(parseIPv4('10.0.0.1'), 0x0a000001);
  assert.equal(parseIPv4('255.255.255.255'), 0xffffffff);
  assert.equal(parseIPv4('0.0.0.0'), 0);
  assert.deepEqual(parseIPv4Bytes('192.168.1.2'), Uint8Array.of(192, 168, 1, 2));
  assert.equal(formatIPv4(0xc0a80102), '192.168.1.2');
  assert.equal(formatIPv4(Uint8Array.of(0, 192, 168, 1, 2), 1), '192.168.1.2');
  for (const bad of ['1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1.2.3.-4', '1.2.3.4 ', 'a.b.c.d', '']) {
    assert.throws(() => parseIPv4(bad), code('ERR_INVALID_ADDRESS'), bad);
  }
});

test('IPv6 parsing: compressed, full, embedded IPv4', () => {
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
  assert.equal(hex(parseIPv6('::')), '0'.repeat(32));
  assert.equal(hex(parseIPv6('::1')), '0'.repeat(31) + '1');
  assert.equal(hex(parseIPv6('1::')), '0001' + '0'.repeat(28));
  assert.equal(hex(parseIPv6('2001:DB8::8:800:200C:417A')), '20010db8000000000008080020 0c417a'.replace(' ', ''));
  assert.equal(hex(parseIPv6('2001:db8:0:0:0:0:2:1')), '20010db8000000000000000000020001');
  assert.equal(hex(parseIPv6('::ffff:192.0.2.1')), '00000000000000000000ffffc0000201');
  assert.equal(hex(parseIPv6('64:ff9b::10.0.0.1')), '0064ff9b00000000000000000a000001');
  for (const bad of ['', ':', ':::', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '1::2::3', '12345::', 'g::', '::1.2.3', '1.2.3.4::', 'fe80::1%eth0', '1:2:3:4:5:6:7::8']) {
    assert.throws(() => parseIPv6(bad), code('ERR_INVALID_ADDRESS'), bad);
  }
});

test('IPv6 formatting follows RFC 5952', () => {
  const cases: [string, string][] = [
    ['2001:0db8:0000:0000:0000:0000:0002:0001', '2001:db8::2:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // a single zero group is not compressed
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // the longest run
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // the first of equal runs
    ['0:0:0:0:0:0:0:0', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['fe80:0:0:0:0:0:0:0', 'fe80::'],
    ['0:0:0:0:0:ffff:c000:201', '::ffff:192.0.2.1'],
    ['ABCD:EF01:2345:6789:ABCD:EF01:2345:6789', 'abcd:ef01:2345:6789:abcd:ef01:2345:6789'],
  ];
  for (const [input, want] of cases) {
    assert.equal(formatIPv6(parseIPv6(input)), want, input);
    assert.deepEqual(parseIPv6(want), parseIPv6(input));
  }
});

test('parseIP/formatIP pick the family', () => {
  assert.equal(parseIP('1.2.3.4').length, 4);
  assert.equal(parseIP('::1').length, 16);
  assert.equal(formatIP(parseIP('2001:db8::1')), '2001:db8::1');
  assert.equal(formatIP(parseIP('1.2.3.4')), '1.2.3.4');
  assert.throws(() => formatIP(new Uint8Array(5)), code('ERR_INVALID_ADDRESS'));
});

test('CIDR matching, IPv4', () => {
  const c = parseCidr('10.1.2.3/8');
  assert.equal(c.family, 4);
  assert.equal(c.prefixLength, 8);
  assert.equal(c.toString(), '10.0.0.0/8');
  assert.ok(c.containsIPv4(parseIPv4('10.255.0.1')));
  assert.ok(!c.containsIPv4(parseIPv4('11.0.0.0')));
  assert.ok(c.containsBytes(Uint8Array.of(0, 0, 10, 9, 9, 9), 2));
  assert.ok(c.contains('10.0.0.0'));
  assert.ok(!c.contains('::1'));
  assert.ok(new Cidr('0.0.0.0/0').containsIPv4(0xffffffff));
  const host = new Cidr('192.168.1.1');
  assert.equal(host.prefixLength, 32);
  assert.ok(host.containsIPv4(parseIPv4('192.168.1.1')) && !host.containsIPv4(parseIPv4('192.168.1.2')));
  const odd = new Cidr('172.16.0.0/12');
  assert.ok(odd.contains('172.31.255.255') && !odd.contains('172.32.0.0'));
});

test('CIDR matching, IPv6', () => {
  const c = new Cidr('2001:db8::/32');
  assert.equal(c.family, 6);
  assert.ok(c.contains('2001:db8:ffff::1'));
  assert.ok(!c.contains('2001:db9::'));
  assert.ok(!c.containsIPv4(0));
  const odd = new Cidr('fe80::/10');
  assert.ok(odd.contains('febf::1') && !odd.contains('fec0::1'));
  assert.equal(new Cidr('2001:db8::1/127').toString(), '2001:db8::/127');
  assert.ok(new Cidr('::/0').contains('ffff::'));
});

test('CIDR errors carry ERR_INVALID_CIDR', () => {
  for (const bad of ['10.0.0.0/33', '10.0.0.0/', '10.0.0.0/08', '::/129', 'nonsense/8', '10.0.0.0/-1', '']) {
    assert.throws(() => new Cidr(bad), code('ERR_INVALID_CIDR'), bad);
  }
});
