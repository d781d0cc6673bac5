import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { useTestApp } from '../helpers/app.ts';
import { adminHeaders, createClient, quickBackend, type TestClient } from '../helpers/foundation.ts';
import { WsClient } from '../helpers/ws-client.ts';
import { AppError } from '../../src/errors.ts';
import { decodeImage } from '../../src/vision/decode/decode.ts';

/**
 * Issue 9: thousands of generated bad requests at a real server (over a real port). Every answer
 * is below 500 and carries a coded error body; afterwards the server is healthy, a valid request
 * still works and the heap has not run away. Seeded, so a failure replays (FUZZ_SEED overrides).
 *
 * The face engine is off here (its routes answer 503 SERVICE_UNAVAILABLE, the one 5xx allowed);
 * image headers are fuzzed straight through the decoder the engine uses.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20261204);
const RUNS = Number(process.env.FUZZ_RUNS ?? 2500);

interface Operation {
  method: string;
  path: string;
  query: string[];
  body: string[];
  admin: boolean;
  upload: boolean;
}

/** Strings a hostile client sends: control bytes, lone surrogates, traversal, huge numbers, injections. */
const nasty = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom('\u0000', 'a\u0000b', '\ud800', '\udfff x', '\u001b[2J', '\r\n', '../../etc/passwd', '....//....//', "' OR 1=1 --", '$(id)', '99999999999999999999', '-1', '0', '1e309', 'NaN', '%00', '%ff', '💥'.repeat(300), 'x'.repeat(5000), '{"a":1}', '[]', 'null'),
);
const nastyNumber = fc.oneof(fc.integer(), fc.double(), fc.constantFrom(1e20, -1e20, 2 ** 31, 2 ** 53, -0, Number.MAX_SAFE_INTEGER));
const nastyValue: fc.Arbitrary<unknown> = fc.oneof(nasty, nastyNumber, fc.boolean(), fc.constant(null), fc.jsonValue({ maxDepth: 4 }), fc.dictionary(nasty, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }));

function deepJson(depth: number): string {
  return '['.repeat(depth) + ']'.repeat(depth);
}

function encodeSegment(s: string): string {
  // Mostly proper percent-encoding; sometimes raw (traversal, %-sequences as they are).
  if (s.startsWith('%') || s.includes('..')) return s;
  return pct(s);
}

function pct(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return [...Buffer.from(s)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join(''); // lone surrogates
  }
}

function bodyFor(op: Operation): fc.Arbitrary<{ contentType: string | null; payload: string | Buffer | undefined }> {
  const known = op.body.length ? op.body : ['name', 'id'];
  const json = fc.oneof(
    fc.dictionary(fc.constantFrom(...known, 'client_id', 'id', '__proto__', 'constructor'), nastyValue, { maxKeys: 6 }).map((o) => JSON.stringify(o)),
    nastyValue.map((v) => JSON.stringify(v) ?? 'null'),
    fc.integer({ min: 33, max: 6000 }).map(deepJson),
    fc.string({ maxLength: 200 }),
    fc.constantFrom('{"a":', '{"a":"\\ud800"}', '{"a":"\\u0000"}', '{"__proto__":{"admin":true}}', '', ' ', '\u0000'),
  );
  const boundary = fc.constantFrom('zzz', 'x'.repeat(80), '', '"q"');
  const multipart = fc.tuple(boundary, boundary, fc.constantFrom(...known, 'image', 'frame', 'images'), nasty, fc.boolean(), fc.uint8Array({ maxLength: 64 })).map(
    ([declared, used, field, value, truncate, bytes]) => {
      const head = `--${used}\r\nContent-Disposition: form-data; name="${field}"\r\n\r\n${value}\r\n--${used}\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n`;
      const tail = truncate ? '' : `\r\n--${used}--\r\n`;
      const payload = Buffer.concat([Buffer.from(head), Buffer.from([0x89, 0x50, 0x4e, 0x47]), Buffer.from(bytes), Buffer.from(tail)]);
      return { contentType: declared ? `multipart/form-data; boundary=${declared}` : 'multipart/form-data', payload };
    },
  );
  return fc.oneof(
    { weight: 5, arbitrary: json.map((payload) => ({ contentType: 'application/json', payload })) },
    { weight: op.upload ? 4 : 1, arbitrary: multipart },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(null, 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=utf-16', 'image/png'), fc.string({ maxLength: 100 })).map(([contentType, payload]) => ({ contentType, payload })) },
  );
}

function requestFor(ops: Operation[]) {
  return fc.integer({ min: 0, max: ops.length - 1 }).chain((i) => {
    const op = ops[i]!;
    const params = fc.array(nasty, { minLength: 8, maxLength: 8 });
    const query = fc.dictionary(fc.oneof(fc.constantFrom(...op.query, 'page', 'page_size'), nasty), fc.oneof(nasty, nastyNumber.map(String)), { maxKeys: 4 });
    const method = fc.oneof({ weight: 6, arbitrary: fc.constant(op.method) }, { weight: 1, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS') });
    return fc.record({ op: fc.constant(op), params, query, method, body: bodyFor(op) });
  });
}

describe('fuzz: generated bad requests at a real server', () => {
  const t = useTestApp(quickBackend());

  test(`${RUNS} generated HTTP requests and 300 WebSocket messages: no 5xx, healthy afterwards, memory bounded`, async () => {
    const { app } = t();
    await app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const client: TestClient = await createClient(app, { tier: 'enterprise' });
    const doc = (await app.inject({ method: 'GET', url: '/api/openapi.json' })).json() as { paths: Record<string, Record<string, { parameters?: Array<{ in: string; name: string }>; requestBody?: { content: Record<string, { schema?: { properties?: Record<string, unknown> } }> } }>> };
    const ops: Operation[] = [];
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        const content = op.requestBody?.content ?? {};
        const props = Object.values(content).flatMap((c) => Object.keys(c.schema?.properties ?? {}));
        ops.push({
          method: method.toUpperCase(),
          path,
          query: (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
          body: props,
          admin: path.startsWith('/api/v1/admin/') || path === '/metrics',
          upload: 'multipart/form-data' in content,
        });
      }
    }
    assert.ok(ops.length > 40, `only ${ops.length} operations in the OpenAPI document`);
    const heapBefore = process.memoryUsage().heapUsed;
    const failures: string[] = [];
    const seen = new Map<number, number>();

    await fc.assert(
      fc.asyncProperty(requestFor(ops), async ({ op, params, query, method, body }) => {
        let n = 0;
        const path = op.path.replace(/\{[^}]+\}/g, () => encodeSegment(params[n++ % params.length]!));
        const qs = Object.entries(query).map(([k, v]) => `${pct(k)}=${encodeSegment(v)}`).join('&');
        const headers: Record<string, string> = { authorization: op.admin ? adminHeaders.authorization : client.auth };
        if (body.contentType) headers['content-type'] = body.contentType;
        const hasBody = !['GET', 'HEAD', 'OPTIONS'].includes(method);
        let res: Response;
        try {
          res = await fetch(`${base}${path}${qs ? `?${qs}` : ''}`, { method, headers, body: hasBody && body.payload !== undefined ? (typeof body.payload === 'string' ? body.payload : new Uint8Array(body.payload)) : undefined });
        } catch (e) {
          // The client refused to build it (e.g. a forbidden header value): nothing reached the server.
          if (e instanceof TypeError && !/fetch failed/.test(e.message)) return;
          throw e;
        }
        const text = await res.text();
        seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
        // The CompreFace-compatible API answers in CompreFace's shape ({message, code: number}) and names
        // Wajah's own code in X-Wajah-Error-Code (docs/compreface.md).
        const compreFace = /^\/api\/v1\/(recognition|detection|verification)\//.test(path);
        const wajahCode = compreFace && res.headers.has('x-wajah-error-code') ? String(res.headers.get('x-wajah-error-code')) : text;
        const engineOff = res.status === 503 && wajahCode.includes('SERVICE_UNAVAILABLE');
        if (res.status >= 500 && !engineOff) failures.push(`${method} ${path}?${qs} [${body.contentType}] ${String(body.payload).slice(0, 120)} → ${res.status} ${text.slice(0, 200)}`);
        if (res.status >= 400 && method !== 'HEAD' && text) {
          const parsed = JSON.parse(text) as { code?: string | number; statusCode?: number; message?: string };
          // (A path or method CompreFace does not have is answered by Wajah's own handlers, in Wajah's shape.)
          if (compreFace && typeof parsed.code === 'number') {
            assert.ok(parsed.message, text);
            assert.match(wajahCode, /^[A-Z_]+$/, `${method} ${path}: X-Wajah-Error-Code ${wajahCode}`);
          } else {
            assert.match(String(parsed.code), /^[A-Z_]+$/, `${method} ${path}: ${text.slice(0, 200)}`);
            assert.equal(parsed.statusCode, res.status);
          }
        }
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
    assert.deepEqual(failures.slice(0, 10), [], `${failures.length} requests answered 5xx`);

    // WebSocket: junk frames get an error message; the connection and server survive.
    const ws = await WsClient.connect(`${base.replace('http', 'ws')}/ws/recognition/`);
    const frames = fc.sample(
      fc.oneof(
        nasty,
        nastyValue.map((v) => JSON.stringify(v) ?? 'null'),
        fc.record({ type: fc.constantFrom('authenticate', 'process_frame', 'ping', 'configure', 'x'), timestamp: nastyValue, image: nasty, options: nastyValue, api_key: nasty, secret_key: nasty }).map((m) => JSON.stringify(m)),
        fc.integer({ min: 33, max: 3000 }).map((d) => `{"type":"ping","x":${deepJson(d)}}`),
      ),
      { numRuns: 300, seed: SEED },
    );
    for (const frame of frames) {
      ws.send(frame);
      const reply = await ws.next(5000);
      assert.ok(['error', 'pong', 'authenticated'].includes(reply.type), JSON.stringify(reply));
      if (reply.type === 'error') assert.match(reply.code, /^[A-Z_]+$/);
      if (!ws.isOpen) break;
    }
    ws.close();

    const status = await fetch(`${base}/api/core/status/`, { headers: { authorization: client.auth } });
    assert.equal(status.status, 200);
    const created = await fetch(`${base}/api/clients/users/`, { method: 'POST', headers: { authorization: client.auth, 'content-type': 'application/json' }, body: JSON.stringify({ external_id: 'after-fuzz', name: 'Still Works' }) });
    assert.equal(created.status, 201, await created.text());
    const grown = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
    assert.ok(grown < 200, `heap grew by ${grown.toFixed(0)} MB`);
    console.log(`fuzz: ${RUNS} HTTP requests over ${ops.length} operations, statuses ${JSON.stringify(Object.fromEntries([...seen].sort()))}, ${frames.length} WebSocket frames, heap +${grown.toFixed(0)} MB`);
  });

  test('2,000 generated image headers through the decoder: only coded errors, never a crash or a hang', async () => {
    const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
    const jpeg = [0xff, 0xd8, 0xff];
    const webp = [...Buffer.from('RIFF'), 0, 0, 0, 0, ...Buffer.from('WEBP')];
    const images = fc.sample(
      fc.tuple(fc.integer({ min: 0, max: 3 }), fc.uint8Array({ minLength: 16, maxLength: 256 }), fc.constantFrom(0, 1, 2)).map(([kind, rest, mode]) => {
        const magic = [png, jpeg, webp, []][kind]!;
        const bytes = Buffer.concat([Buffer.from(magic), Buffer.from(rest)]);
        if (mode === 1 && kind === 0) bytes.writeUInt32BE(0x7fffffff, 16); // absurd width in IHDR
        return mode === 2 ? `data:image/png;base64,${bytes.toString('base64')}` : bytes;
      }),
      { numRuns: 2000, seed: SEED },
    );
    const codes = new Map<string, number>();
    for (const image of images) {
      try {
        await decodeImage(image);
        codes.set('decoded', (codes.get('decoded') ?? 0) + 1);
      } catch (e) {
        assert.ok(e instanceof AppError, `not a coded error: ${String(e)}`);
        assert.ok(e.statusCode < 500);
        assert.ok(!JSON.stringify(e.details ?? {}).includes('vips'), JSON.stringify(e.details));
        codes.set(e.code, (codes.get(e.code) ?? 0) + 1);
      }
    }
    assert.ok(codes.size >= 2, JSON.stringify([...codes]));
  });
});
