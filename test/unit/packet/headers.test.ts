/** Accessors, setters and validators per protocol, on frames built by hand-checked builders. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as P from '../../../ts/packet/index.js';

test('Ethernet and VLAN tags', () => {
  const f = P.buildUdp({
    srcMac: '02:00:00:00:00:aa',
    dstMac: 'ff:ff:ff:ff:ff:ff',
    vlans: [{ id: 100, pcp: 5, dei: true, tpid: 0x88a8 }, { id: 4094 }],
    src: '1.1.1.1',
    dst: '2.2.2.2',
    srcPort: 1,
    dstPort: 2,
  });
  assert.equal(P.formatMac(f, P.ethSrcOffset(0)), '02:00:00:00:00:aa');
  assert.equal(P.formatMac(f, P.ethDstOffset(0)), 'ff:ff:ff:ff:ff:ff');
  assert.ok(P.ethIsBroadcast(f, 0) && P.ethIsMulticast(f, 0));
  assert.equal(P.ethType(f, 0), P.EtherType.QinQ);
  assert.ok(P.isVlanTpid(P.ethType(f, 0)));
  assert.equal(P.vlanId(f, 12), 100);
  assert.equal(P.vlanPcp(f, 12), 5);
  assert.equal(P.vlanDei(f, 12), true);
  assert.equal(P.vlanInnerType(f, 12), P.EtherType.VLAN);
  assert.equal(P.vlanTci(f, 16), 4094);
  assert.equal(P.vlanInnerType(f, 16), P.EtherType.IPv4);
  P.vlanSetId(f, 12, 7);
  P.vlanSetPcp(f, 12, 1);
  P.vlanSetDei(f, 12, false);
  assert.equal(P.vlanTci(f, 12), P.vlanMakeTci(7, 1, false));
  P.swapMacs(f, 0);
  assert.equal(P.formatMac(f, 0), '02:00:00:00:00:aa');
  assert.equal(P.readMac48(f, 0), 0x0200000000aa);
  P.writeMac48(f, 6, 0x123456789abc);
  assert.equal(P.formatMac(f, 6), '12:34:56:78:9a:bc');
  P.ethSetDst(f, 0, P.parseMac('00:11:22:33:44:55'));
  P.ethSetSrc(f, 0, Uint8Array.of(0, 1, 2, 3, 4, 5, 6), 1);
  assert.equal(P.formatMac(f, 0), '00:11:22:33:44:55');
  assert.equal(P.formatMac(f, 6), '01:02:03:04:05:06');
  P.ethSetType(f, 0, 0x1234);
  assert.equal(P.ethType(f, 0), 0x1234);
  assert.equal(P.ethHeaderStatus(f, 0, 13), P.ParseStatus.Truncated);
  assert.equal(P.ethHeaderStatus(f, 0, 14), P.ParseStatus.Ok);
});

test('ARP accessors and reply in place', () => {
  const f = P.buildArp({ srcMac: '02:00:00:00:00:01', senderIp: '10.0.0.1', targetIp: '10.0.0.2' });
  assert.equal(f.length, 42);
  const o = 14;
  assert.equal(P.arpHeaderStatus(f, o, f.length), P.ParseStatus.Ok);
  assert.equal(P.arpHeaderStatus(f, o, f.length - 1), P.ParseStatus.Truncated);
  assert.equal(P.arpHardwareType(f, o), 1);
  assert.equal(P.arpProtocolType(f, o), 0x0800);
  assert.equal(P.arpOp(f, o), P.ArpOp.Request);
  assert.equal(P.formatIPv4(P.arpSenderIPv4(f, o)), '10.0.0.1');
  assert.equal(P.formatIPv4(P.arpTargetIPv4(f, o)), '10.0.0.2');
  assert.equal(P.formatMac(f, P.arpSenderMacOffset(o)), '02:00:00:00:00:01');
  P.arpMakeReply(f, o, P.parseMac('02:00:00:00:00:02'));
  assert.equal(P.arpOp(f, o), P.ArpOp.Reply);
  assert.equal(P.formatIPv4(P.arpSenderIPv4(f, o)), '10.0.0.2');
  assert.equal(P.formatIPv4(P.arpTargetIPv4(f, o)), '10.0.0.1');
  assert.equal(P.formatMac(f, P.arpSenderMacOffset(o)), '02:00:00:00:00:02');
  assert.equal(P.formatMac(f, P.arpTargetMacOffset(o)), '02:00:00:00:00:01');
  P.arpSetSenderIPv4(f, o, 1);
  P.arpSetTargetIPv4(f, o, 2);
  P.arpSetOp(f, o, 1);
  assert.deepEqual([P.arpSenderIPv4(f, o), P.arpTargetIPv4(f, o), P.arpOp(f, o)], [1, 2, 1]);
  f[o] = 6; // hardware type IEEE 802
  assert.equal(P.arpHeaderStatus(f, o, f.length), P.ParseStatus.NotThisProtocol);
});

test('IPv4 accessors, setters, options, validator', () => {
  const f = P.buildUdp({
    src: '192.0.2.1', dst: '198.51.100.2', srcPort: 5, dstPort: 6, ttl: 17, dscp: 46, ecn: 2, id: 0xbeef,
    dontFragment: true, ipv4Options: Uint8Array.of(1, 148, 4, 0, 0),
  });
  const o = 14;
  assert.equal(P.ipv4Version(f, o), 4);
  assert.equal(P.ipv4HeaderLength(f, o), 28);
  assert.equal(P.ipv4Dscp(f, o), 46);
  assert.equal(P.ipv4Ecn(f, o), 2);
  assert.equal(P.ipv4Tos(f, o), (46 << 2) | 2);
  assert.equal(P.ipv4TotalLength(f, o), 28 + 8);
  assert.equal(P.ipv4Id(f, o), 0xbeef);
  assert.equal(P.ipv4DontFragment(f, o), true);
  assert.equal(P.ipv4MoreFragments(f, o), false);
  assert.equal(P.ipv4FragmentOffset(f, o), 0);
  assert.equal(P.ipv4IsFragment(f, o), false);
  assert.equal(P.ipv4Ttl(f, o), 17);
  assert.equal(P.ipv4Protocol(f, o), 17);
  assert.equal(P.ipv4Src(f, o), P.parseIPv4('192.0.2.1'));
  assert.equal(P.ipv4Dst(f, o), P.parseIPv4('198.51.100.2'));
  assert.ok(P.ipv4HeaderChecksumValid(f, o));
  assert.equal(P.ipv4Checksum(f, o), P.ipv4HeaderChecksum(f, o));
  assert.equal(P.ipv4FindOption(f, o, P.Ipv4Option.RouterAlert), o + 21);
  assert.equal(P.ipv4FindOption(f, o, P.Ipv4Option.RecordRoute), -1);
  P.ipv4SetDscp(f, o, 10);
  P.ipv4SetEcn(f, o, 3);
  assert.deepEqual([P.ipv4Dscp(f, o), P.ipv4Ecn(f, o)], [10, 3]);
  P.ipv4SetTos(f, o, 0);
  P.ipv4SetId(f, o, 1);
  P.ipv4SetDontFragment(f, o, false);
  P.ipv4SetFragment(f, o, 1480, true);
  assert.deepEqual([P.ipv4DontFragment(f, o), P.ipv4MoreFragments(f, o), P.ipv4FragmentOffset(f, o), P.ipv4IsFragment(f, o)], [false, true, 1480, true]);
  P.ipv4SetTtl(f, o, 1);
  P.ipv4SetProtocol(f, o, 6);
  P.ipv4SetSrc(f, o, 1);
  P.ipv4SetDst(f, o, 0xffffffff);
  assert.deepEqual([P.ipv4Ttl(f, o), P.ipv4Protocol(f, o), P.ipv4Src(f, o), P.ipv4Dst(f, o)], [1, 6, 1, 0xffffffff]);
  assert.ok(!P.ipv4HeaderChecksumValid(f, o));
  P.ipv4UpdateChecksum(f, o);
  assert.ok(P.ipv4HeaderChecksumValid(f, o));
  P.ipv4SetChecksum(f, o, 0);
  assert.equal(P.ipv4Checksum(f, o), 0);
  // Validator outcomes.
  const g = P.buildUdp({ src: '1.1.1.1', dst: '2.2.2.2', srcPort: 1, dstPort: 2 });
  assert.equal(P.ipv4HeaderStatus(g, o, g.length), P.ParseStatus.Ok);
  assert.equal(P.ipv4HeaderStatus(g, o, g.length - 1), P.ParseStatus.Truncated);
  assert.equal(P.ipv4HeaderStatus(g, o, o + 19), P.ParseStatus.Truncated);
  g[o] = 0x44;
  assert.equal(P.ipv4HeaderStatus(g, o, g.length), P.ParseStatus.Malformed);
  g[o] = 0x65;
  assert.equal(P.ipv4HeaderStatus(g, o, g.length), P.ParseStatus.NotThisProtocol);
  g[o] = 0x45;
  P.ipv4SetTotalLength(g, o, 19);
  assert.equal(P.ipv4HeaderStatus(g, o, g.length), P.ParseStatus.Malformed);
});

test('IPv6 accessors, setters, extension headers', () => {
  const f = P.buildTcp({
    src: '2001:db8::1', dst: '2001:db8::2', srcPort: 1, dstPort: 2, ttl: 9, dscp: 10, ecn: 1, flowLabel: 0xabcde,
    extensions: [{ kind: 'hopByHop' }, { kind: 'routing', routingType: 4, segmentsLeft: 0 }, { kind: 'fragment', offset: 0, more: true, id: 0xdeadbeef }],
  });
  const o = 14;
  assert.equal(P.ipv6Version(f, o), 6);
  assert.equal(P.ipv6TrafficClass(f, o), (10 << 2) | 1);
  assert.equal(P.ipv6Dscp(f, o), 10);
  assert.equal(P.ipv6Ecn(f, o), 1);
  assert.equal(P.ipv6FlowLabel(f, o), 0xabcde);
  assert.equal(P.ipv6PayloadLength(f, o), 8 + 8 + 8 + 20);
  assert.equal(P.ipv6NextHeader(f, o), P.Ipv6Ext.HopByHop);
  assert.equal(P.ipv6HopLimit(f, o), 9);
  assert.equal(P.formatIPv6(f, P.ipv6SrcOffset(o)), '2001:db8::1');
  assert.equal(P.formatIPv6(f, P.ipv6DstOffset(o)), '2001:db8::2');
  assert.ok(P.ipv6AddrEquals(f, P.ipv6DstOffset(o), P.parseIPv6('2001:db8::2')));
  let x = o + 40;
  assert.equal(P.ipv6ExtNextHeader(f, x), P.Ipv6Ext.Routing);
  assert.equal(P.ipv6ExtLength(f, x, P.Ipv6Ext.HopByHop), 8);
  x += 8;
  assert.equal(P.ipv6RoutingType(f, x), 4);
  assert.equal(P.ipv6RoutingSegmentsLeft(f, x), 0);
  x += P.ipv6ExtLength(f, x, P.Ipv6Ext.Routing);
  assert.equal(P.ipv6ExtNextHeader(f, x), 6);
  assert.equal(P.ipv6FragmentOffset(f, x), 0);
  assert.equal(P.ipv6MoreFragments(f, x), true);
  assert.equal(P.ipv6FragmentId(f, x), 0xdeadbeef);
  assert.ok(P.ipv6IsExtension(P.Ipv6Ext.Auth) && !P.ipv6IsExtension(P.Ipv6Ext.Esp) && !P.ipv6IsExtension(6));
  P.ipv6SetTrafficClass(f, o, 0xff);
  assert.equal(P.ipv6FlowLabel(f, o), 0xabcde);
  P.ipv6SetDscp(f, o, 1);
  P.ipv6SetEcn(f, o, 2);
  assert.equal(P.ipv6TrafficClass(f, o), (1 << 2) | 2);
  P.ipv6SetFlowLabel(f, o, 0x12345);
  assert.equal(P.ipv6FlowLabel(f, o), 0x12345);
  assert.equal(P.ipv6TrafficClass(f, o), (1 << 2) | 2);
  P.ipv6SetHopLimit(f, o, 1);
  P.ipv6SetNextHeader(f, o, 59);
  P.ipv6SetPayloadLength(f, o, 0);
  assert.deepEqual([P.ipv6HopLimit(f, o), P.ipv6NextHeader(f, o), P.ipv6PayloadLength(f, o)], [1, 59, 0]);
  P.ipv6SetSrc(f, o, P.parseIPv6('::1'));
  P.ipv6SetDst(f, o, Uint8Array.of(9, ...P.parseIPv6('::2')), 1);
  assert.equal(P.formatIPv6(f, o + 8), '::1');
  assert.equal(P.formatIPv6(f, o + 24), '::2');
  assert.equal(P.ipv6HeaderStatus(f, o, f.length), P.ParseStatus.Ok);
  assert.equal(P.ipv6HeaderStatus(f, o, o + 39), P.ParseStatus.Truncated);
  f[o] = 0x40;
  assert.equal(P.ipv6HeaderStatus(f, o, f.length), P.ParseStatus.NotThisProtocol);
});

test('UDP accessors and validator', () => {
  const f = P.buildUdp({ src: '1.1.1.1', dst: '2.2.2.2', srcPort: 53, dstPort: 40000, payload: 'abc' });
  const o = 34;
  assert.deepEqual([P.udpSrcPort(f, o), P.udpDstPort(f, o), P.udpLength(f, o)], [53, 40000, 11]);
  assert.equal(P.udpChecksum(f, o), P.transportChecksum(f, 14, o, o + 11, 17));
  P.udpSetSrcPort(f, o, 1);
  P.udpSetDstPort(f, o, 2);
  P.udpSetLength(f, o, 8);
  P.udpSetChecksum(f, o, 0);
  assert.deepEqual([P.udpSrcPort(f, o), P.udpDstPort(f, o), P.udpLength(f, o), P.udpChecksum(f, o)], [1, 2, 8, 0]);
  assert.equal(P.udpHeaderStatus(f, o, f.length), P.ParseStatus.Ok);
  assert.equal(P.udpHeaderStatus(f, o, o + 7), P.ParseStatus.Truncated);
  P.udpSetLength(f, o, 7);
  assert.equal(P.udpHeaderStatus(f, o, f.length), P.ParseStatus.Malformed);
  P.udpSetLength(f, o, 100);
  assert.equal(P.udpHeaderStatus(f, o, f.length), P.ParseStatus.Truncated);
});

test('TCP accessors, flags, options, validator', () => {
  const opts = Uint8Array.of(1, 2, 4, 0x05, 0xb4, 1, 3, 3, 7, 4, 2, 0); // NOP, MSS 1460, NOP, wscale 7, SACK-permitted, End
  const f = P.buildTcp({
    src: '1.1.1.1', dst: '2.2.2.2', srcPort: 443, dstPort: 50000, seq: 0xfffffff0, ack: 7,
    flags: P.TcpFlags.SYN | P.TcpFlags.ACK | P.TcpFlags.NS, window: 1234, urgent: 9, tcpOptions: opts, payload: 'hi',
  });
  const o = 34;
  assert.equal(P.tcpSrcPort(f, o), 443);
  assert.equal(P.tcpDstPort(f, o), 50000);
  assert.equal(P.tcpSeq(f, o), 0xfffffff0);
  assert.equal(P.tcpAck(f, o), 7);
  assert.equal(P.tcpHeaderLength(f, o), 32);
  assert.equal(P.tcpFlags(f, o), 0x112);
  assert.equal(P.tcpWindow(f, o), 1234);
  assert.equal(P.tcpUrgentPointer(f, o), 9);
  assert.equal(P.tcpMss(f, o), 1460);
  assert.equal(P.tcpFindOption(f, o, P.TcpOption.WindowScale), o + 20 + 6);
  assert.equal(P.tcpFindOption(f, o, P.TcpOption.SackPermitted), o + 20 + 9);
  assert.equal(P.tcpFindOption(f, o, P.TcpOption.Timestamps), -1);
  assert.ok(P.transportChecksumValid(f, 14, o, f.length, 6));
  P.tcpSetFlags(f, o, P.TcpFlags.FIN);
  assert.equal(P.tcpFlags(f, o), 1);
  assert.equal(P.tcpHeaderLength(f, o), 32);
  P.tcpSetSrcPort(f, o, 1);
  P.tcpSetDstPort(f, o, 2);
  P.tcpSetSeq(f, o, 3);
  P.tcpSetAck(f, o, 0xffffffff);
  P.tcpSetWindow(f, o, 5);
  P.tcpSetUrgentPointer(f, o, 6);
  P.tcpSetChecksum(f, o, 0x1234);
  assert.deepEqual(
    [P.tcpSrcPort(f, o), P.tcpDstPort(f, o), P.tcpSeq(f, o), P.tcpAck(f, o), P.tcpWindow(f, o), P.tcpUrgentPointer(f, o), P.tcpChecksum(f, o)],
    [1, 2, 3, 0xffffffff, 5, 6, 0x1234],
  );
  assert.equal(P.tcpHeaderStatus(f, o, f.length), P.ParseStatus.Ok);
  assert.equal(P.tcpHeaderStatus(f, o, o + 31), P.ParseStatus.Truncated);
  f[o + 12] = 0x40;
  assert.equal(P.tcpHeaderStatus(f, o, f.length), P.ParseStatus.Malformed);
  // Option lists that lie: a length past the header, a zero length.
  const bad = P.buildTcp({ src: '1.1.1.1', dst: '2.2.2.2', srcPort: 1, dstPort: 2, tcpOptions: Uint8Array.of(3, 9, 0, 0, 2, 4, 1, 1) });
  assert.equal(P.tcpMss(bad, 34), -1);
  const zero = P.buildTcp({ src: '1.1.1.1', dst: '2.2.2.2', srcPort: 1, dstPort: 2, tcpOptions: Uint8Array.of(5, 0, 2, 4, 1, 1, 0, 0) });
  assert.equal(P.tcpMss(zero, 34), -1);
});

test('ICMP accessors', () => {
  const f = P.buildIcmpEcho({ src: '1.1.1.1', dst: '2.2.2.2', id: 0x1234, seq: 7, payload: 'ping' });
  const o = 34;
  assert.equal(P.icmpType(f, o), P.IcmpType.EchoRequest);
  assert.equal(P.icmpCode(f, o), 0);
  assert.equal(P.icmpEchoId(f, o), 0x1234);
  assert.equal(P.icmpEchoSeq(f, o), 7);
  assert.ok(P.transportChecksumValid(f, 14, o, f.length, 1));
  assert.equal(P.icmpChecksum(f, o), P.transportChecksum(f, 14, o, f.length, 1));
  P.icmpSetType(f, o, 3);
  P.icmpSetCode(f, o, 1);
  P.icmpSetChecksum(f, o, 0);
  assert.deepEqual([P.icmpType(f, o), P.icmpCode(f, o), P.icmpChecksum(f, o)], [3, 1, 0]);
  const v6 = P.buildIcmp({ src: '::1', dst: '::2', type: P.Icmpv6Type.NeighborSolicitation, rest: 0, payload: P.parseIPv6('::2') });
  assert.equal(P.icmpType(v6, 54), 135);
  assert.ok(P.transportChecksumValid(v6, 14, 54, v6.length, 58));
});
