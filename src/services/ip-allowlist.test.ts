import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IpAllowlist, parseCidr, validateCidrs } from './ip-allowlist.ts';

test('IPv4 and IPv6 CIDRs, single addresses, IPv4-mapped IPv6', () => {
  const allow = new IpAllowlist();
  const list = ['10.0.0.0/8', '192.168.1.7', '2001:db8::/32', '::1'];
  assert.equal(allow.allows('10.255.0.1', list), true);
  assert.equal(allow.allows('::ffff:10.1.1.1', list), true);
  assert.equal(allow.allows('192.168.1.7', list), true);
  assert.equal(allow.allows('192.168.1.8', list), false);
  assert.equal(allow.allows('2001:db8:ffff::1', list), true);
  assert.equal(allow.allows('2001:db9::1', list), false);
  assert.equal(allow.allows('::1', list), true);
  assert.equal(allow.allows('not-an-ip', list), false);
  assert.equal(allow.allows('8.8.8.8', []), true, 'empty list allows all');
});

test('validation names the bad entry and normalises', () => {
  assert.deepEqual(validateCidrs(['10.0.0.1', '10.0.0.1/32', '2001:DB8::/32'], 'ip_allowlist'), ['10.0.0.1/32', '2001:DB8::/32']);
  for (const bad of ['10.0.0.0/33', '300.1.1.1', '10.0.0.0/8/1', '::/129', '10.0.0.0/x', '']) assert.equal(parseCidr(bad), null, bad);
  assert.throws(() => validateCidrs(['10.0.0.0/8', 'nope'], 'ip_allowlist'), (e: { code: string; details: { field: string } }) => e.code === 'VALIDATION_ERROR' && e.details.field === 'ip_allowlist.1');
});
