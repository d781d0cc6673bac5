import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { isAppError } from '../../errors.ts';
import { parseRetryAfter, retryDelayMs, retryWaitMs, shouldRetry } from './retry-policy.ts';
import { SecretBox, secretAad } from './secret-box.ts';
import { sendWebhook } from './sender.ts';
import { serializeBody, signBody } from './signer.ts';
import { checkWebhookUrl, isPrivateAddress, isRefusedAddress } from './url-guard.ts';

describe('webhook retry schedule', () => {
  test('exponential, linear and fixed backoff in ms', () => {
    const at = (backoff_strategy: 'exponential' | 'linear' | 'fixed') => [1, 2, 3, 4].map((n) => retryDelayMs({ backoff_strategy, retry_delay: 30 }, n));
    assert.deepEqual(at('exponential'), [30000, 60000, 120000, 240000]);
    assert.deepEqual(at('linear'), [30000, 60000, 90000, 120000]);
    assert.deepEqual(at('fixed'), [30000, 30000, 30000, 30000]);
    assert.equal(retryDelayMs({ backoff_strategy: 'exponential', retry_delay: 0.05 }, 2), 100);
    assert.equal(retryDelayMs({ backoff_strategy: 'exponential', retry_delay: 86400 }, 20), 24 * 3600 * 1000, 'capped at a day');
  });

  test("a receiver's Retry-After: seconds or an HTTP-date, never shortening the policy, at most a day", () => {
    const now = Date.parse('2026-01-01T12:00:00Z');
    assert.equal(parseRetryAfter('120', now), 120_000);
    assert.equal(parseRetryAfter(' 0 ', now), 0);
    assert.equal(parseRetryAfter('Thu, 01 Jan 2026 12:00:30 GMT', now), 30_000);
    assert.equal(parseRetryAfter('Thu, 01 Jan 2026 11:00:00 GMT', now), 0, 'a date in the past');
    assert.equal(parseRetryAfter(String(30 * 86400), now), 24 * 3600 * 1000);
    for (const v of [undefined, '', '-5', '1.5', 'soon', '5 minutes']) assert.equal(parseRetryAfter(v, now), null, String(v));
    assert.equal(retryWaitMs(200, 5000), 5000);
    assert.equal(retryWaitMs(60_000, 5000), 60_000, 'the policy is never shortened');
    assert.equal(retryWaitMs(200, null), 200);
  });

  test('one first attempt plus max_retries retries', () => {
    assert.deepEqual([1, 2, 3, 4].map((n) => shouldRetry({ max_retries: 3 }, n)), [true, true, true, false]);
    assert.equal(shouldRetry({ max_retries: 0 }, 1), false);
  });
});

describe('webhook signing', () => {
  test('compact body with the guide key order; sha256= hex HMAC of its bytes', () => {
    const body = serializeBody({ webhook_id: 'w', timestamp: 't', data: { é: 1 }, event: 'e' } as never);
    assert.equal(body, '{"event":"e","data":{"é":1},"timestamp":"t","webhook_id":"w"}');
    assert.equal(signBody('{}', 'k'), `sha256=${crypto.createHmac('sha256', 'k').update('{}').digest('hex')}`);
    assert.match(signBody(body, 'secret'), /^sha256=[0-9a-f]{64}$/);
  });
});

describe('webhook SSRF guard', () => {
  test('private, loopback, link-local and mapped addresses are recognised', () => {
    for (const ip of ['127.0.0.1', '10.0.0.1', '172.16.5.4', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', '::', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1', '::7f00:1', '2002:7f00:1::', '2002:a00:1::1', '64:ff9b:1::a00:1', 'fec0::1']) {
      assert.equal(isPrivateAddress(ip), true, ip);
    }
    for (const ip of ['93.184.215.14', '8.8.8.8', '2606:4700::1111', '172.32.0.1']) assert.equal(isPrivateAddress(ip), false, ip);
  });

  test('URLs: http(s) only, no credentials; private hosts refused only when not allowed', async () => {
    const code = async (url: string, allowPrivate: boolean) => {
      try {
        await checkWebhookUrl(url, allowPrivate);
        return 'ok';
      } catch (e) {
        assert.ok(isAppError(e));
        return e.code;
      }
    };
    for (const url of ['ftp://x.example/', 'file:///etc/passwd', 'javascript:alert(1)', 'http://u:p@x.example/', 'nope']) {
      assert.equal(await code(url, true), 'INVALID_WEBHOOK_URL', url);
    }
    for (const url of ['http://127.0.0.1:9/hook', 'http://localhost/hook', 'http://[::1]/', 'http://10.1.2.3/', 'http://[::ffff:127.0.0.1]/']) {
      assert.equal(await code(url, true), 'ok', url);
      assert.equal(await code(url, false), 'INVALID_WEBHOOK_URL', url);
    }
    // The metadata service and the rest of link-local: refused even where private receivers are allowed.
    // Also through NAT64 or 6to4, and the metadata services' IPv6 addresses (AWS, Google Cloud), which are
    // unique-local addresses a private setup otherwise allows.
    for (const url of [
      'http://169.254.169.254/latest/meta-data',
      'http://[::ffff:169.254.169.254]/',
      'http://2852039166/',
      'http://[fe80::1]/',
      'http://[64:ff9b::a9fe:a9fe]/',
      'http://[64:ff9b:1::a9fe:a9fe]/',
      'http://[2002:a9fe:a9fe::]/',
      'http://[fd00:ec2::254]/latest/meta-data',
      'http://[fd20:ce::254]/',
    ]) {
      assert.equal(await code(url, true), 'INVALID_WEBHOOK_URL', url);
      assert.equal(await code(url, false), 'INVALID_WEBHOOK_URL', url);
    }
    assert.equal(await code('https://93.184.215.14/hook', false), 'ok');
  });

  test('cloud metadata endpoints outside link-local are refused whatever the setting (Azure WireServer is public space)', async () => {
    const refused = async (url: string, allowPrivate: boolean) => checkWebhookUrl(url, allowPrivate).then(() => false, (e) => isAppError(e) && e.code === 'INVALID_WEBHOOK_URL');
    for (const url of [
      'http://168.63.129.16/machine?comp=goalstate', // Azure WireServer: a public address
      'http://100.100.100.200/latest/meta-data/ram/security-credentials/', // Alibaba Cloud, inside CGNAT
      'http://192.0.0.192/latest/', // Oracle Cloud Classic
      'http://[::ffff:168.63.129.16]/',
      'http://[64:ff9b::a83f:8110]/', // NAT64 of 168.63.129.16
      'http://[2002:6464:64c8::1]/', // 6to4 of 100.100.100.200
      'http://[fd00:ec2::23]/v1/credentials', // AWS EKS Pod Identity (same fd00:ec2::/32 service block as IMDS)
      'http://[fd00:c1::a9fe:a9fe]/opc/v2/instance/', // Oracle Cloud IPv6
      'http://[fd00:42::42]/', // Scaleway IPv6
      'http://[fd00:a9fe:a9fe::1]/', // Akamai / Linode IPv6
      'http://[fd00:100::100:200]/', // Alibaba Cloud IPv6
    ]) {
      assert.equal(await refused(url, true), true, `${url} with private receivers allowed`);
      assert.equal(await refused(url, false), true, `${url} with private receivers refused`);
    }
    // A name resolving there is refused inside the connection's lookup too (isRefusedAddress is what the lookup applies).
    for (const ip of ['168.63.129.16', '100.100.100.200', 'fd00:ec2::23', 'fd00:c1::a9fe:a9fe']) {
      assert.equal(isRefusedAddress(ip, true), true, ip);
      assert.equal(isRefusedAddress(ip, false), true, ip);
    }
    // Its neighbours stay ordinary receivers.
    for (const url of ['http://168.63.129.17/', 'http://100.100.100.201/']) assert.equal(await refused(url, true), false, url);
    // At send time an address literal is refused before any connection, with private receivers refused or not.
    for (const allowPrivate of [true, false]) {
      const out = await sendWebhook('http://168.63.129.16/machine?comp=health', '{}', {}, { timeoutMs: 2000, allowPrivate });
      assert.equal(out.statusCode, null, `allowPrivate=${allowPrivate}: no request may reach the WireServer`);
      assert.match(out.error!, /metadata/);
    }
  });
});

describe('webhook sender', () => {
  test('a link-local receiver is refused at send time even with private receivers allowed; a private literal says why', async () => {
    const metadata = await sendWebhook('http://169.254.169.254/latest/meta-data/iam/', '{}', {}, { timeoutMs: 2000, allowPrivate: true });
    assert.equal(metadata.ok, false);
    assert.match(metadata.error!, /link-local/);
    const literal = await sendWebhook('http://127.0.0.1:9/hook', '{}', {}, { timeoutMs: 2000, allowPrivate: false });
    assert.match(literal.error!, /127\.0\.0\.1 is a private address/);
  });

  test("a private receiver's error body is not recorded (a tenant would read internal services through the log)", async () => {
    const server = http.createServer((_req, res) => res.writeHead(403, { 'content-type': 'application/json' }).end('{"internal":"AKIA-SECRET-TOKEN"}'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const out = await sendWebhook(`http://127.0.0.1:${(server.address() as AddressInfo).port}/admin`, '{}', {}, { timeoutMs: 2000, allowPrivate: true });
      assert.equal(out.statusCode, 403);
      assert.equal(out.error, 'HTTP 403');
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  test('a name resolving to a private address is refused at connect time; timeouts and 3xx fail', async () => {
    const blocked = await sendWebhook('http://localhost:9/hook', '{}', {}, { timeoutMs: 2000, allowPrivate: false });
    assert.equal(blocked.ok, false);
    assert.match(blocked.error!, /private address/);

    const server = http.createServer((req, res) => {
      if (req.url === '/slow') return; // never answers
      res.writeHead(req.url === '/moved' ? 301 : 204, { location: 'http://127.0.0.1:9/' }).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const slow = await sendWebhook(`${base}/slow`, '{}', {}, { timeoutMs: 150, allowPrivate: true });
      assert.equal(slow.ok, false);
      assert.match(slow.error!, /timeout after 150 ms/);
      const moved = await sendWebhook(`${base}/moved`, '{}', {}, { timeoutMs: 2000, allowPrivate: true });
      assert.deepEqual([moved.ok, moved.statusCode], [false, 301]);
      const ok = await sendWebhook(`${base}/ok`, '{}', {}, { timeoutMs: 2000, allowPrivate: true });
      assert.deepEqual([ok.ok, ok.statusCode, ok.error], [true, 204, null]);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

describe('webhook secret box', () => {
  test('round trip; another endpoint, tenant or key cannot open it', () => {
    const key = crypto.randomBytes(32);
    const box = new SecretBox(key);
    const sealed = box.seal('webhook_secret_key_123', secretAad('c1', 'e1'));
    assert.match(sealed, /^v1\.[\w-]+$/);
    assert.ok(!sealed.includes('webhook_secret'));
    assert.equal(box.open(sealed, secretAad('c1', 'e1')), 'webhook_secret_key_123');
    assert.throws(() => box.open(sealed, secretAad('c1', 'e2')));
    assert.throws(() => box.open(sealed, secretAad('c2', 'e1')));
    assert.throws(() => new SecretBox(crypto.randomBytes(32)).open(sealed, secretAad('c1', 'e1')));
  });
});
