/**
 * reachabilityWarnings (issue 15): a rule set that would steer or drop ARP
 * or IPv6 neighbour discovery is named, with a fix; one that leaves them to
 * the kernel is not.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { reachabilityWarnings, steerRuleSet, type RuleSet } from '../../../ts/steer/index.js';

const warned = (expr: string) => reachabilityWarnings(steerRuleSet(expr), expr).map((w) => w.traffic);

test('expressions that take ARP or neighbour discovery from the kernel are warned about', () => {
  // host/net match ARP's addresses, as in tcpdump.
  assert.deepEqual(warned('host 192.0.2.1'), ['arp']);
  assert.deepEqual(warned('not host 192.0.2.1'), ['arp', 'nd']); // and every IPv6 frame
  assert.deepEqual(warned('not port 22'), ['arp', 'nd']);
  assert.deepEqual(warned('ip6'), ['nd']);
  assert.deepEqual(warned('icmp6'), ['nd']);
  assert.deepEqual(warned('host 2001:db8::1'), ['nd']);
  assert.deepEqual(warned('arp'), ['arp']);
  // The fixes it suggests do not warn.
  const [w] = reachabilityWarnings(steerRuleSet('host 192.0.2.1'), 'host 192.0.2.1');
  assert.match(w!.message, /use 'ip host 192\.0\.2\.1'/);
  assert.deepEqual(warned('ip host 192.0.2.1'), []);
  const [nd] = reachabilityWarnings(steerRuleSet('ip6'), 'ip6');
  assert.match(nd!.message, /use '\(ip6\) and not icmp6'/);
  assert.deepEqual(warned('(ip6) and not icmp6'), []);
  assert.deepEqual(warned('(not port 22) and not arp and not icmp6'), []);
});

test('expressions that leave ARP and neighbour discovery alone are not warned about', () => {
  for (const expr of ['udp dst port 53', 'tcp', 'udp or tcp', 'ip', 'ip host 192.0.2.1 and udp', 'vlan 7', 'icmp', 'ip6 and udp']) {
    assert.deepEqual(warned(expr), [], expr);
  }
});

test('rule sets: an earlier pass rule shields, a drop counts, the default counts', () => {
  const shielded: RuleSet = { default: 'steer', rules: [{ match: { kind: 'ethertype', value: 0x0806 }, action: 'pass' }, { match: { kind: 'ip', version: 6 }, action: 'pass' }] };
  assert.deepEqual(reachabilityWarnings(shielded), []);
  const dropping: RuleSet = { default: 'pass', rules: [{ match: { kind: 'net', dir: 'src', prefixes: ['198.51.100.0/24'] }, action: 'drop' }] };
  const [w] = reachabilityWarnings(dropping);
  assert.equal(w!.traffic, 'arp');
  assert.deepEqual(w!.actions, ['drop']);
  assert.deepEqual(reachabilityWarnings({ default: 'steer', rules: [] }).map((x) => x.traffic), ['arp', 'nd']);
});
