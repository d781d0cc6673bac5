import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { legacyTemplateAad, loadMasterKey, TEMPLATE_BLOB_HEADER, TemplateCipher, templateAad } from './template-cipher.ts';

function embedding(dim = 512): Float32Array {
  const v = new Float32Array(dim);
  let n = 0;
  for (let i = 0; i < dim; i++) n += (v[i] = Math.sin(i * 12.9898) * 0.5 + 0.01) ** 2;
  for (let i = 0; i < dim; i++) v[i] /= Math.sqrt(n);
  return v;
}

const aad = templateAad('client-a', 'user-1', 'tpl-1', 'arcface-r100');

describe('TemplateCipher', () => {
  const key = randomBytes(32);

  it('round-trips an embedding bit for bit', () => {
    const cipher = new TemplateCipher(key);
    const vec = embedding();
    const blob = cipher.encrypt(vec, aad);
    assert.equal(blob.length, TEMPLATE_BLOB_HEADER + vec.byteLength);
    assert.equal(blob[0], 1, 'key version byte');
    assert.deepEqual(cipher.decrypt(blob, aad), vec);
    // A subarray view into a larger buffer encrypts only its own bytes.
    const big = new Float32Array(1024);
    big.set(vec, 256);
    assert.deepEqual(cipher.decrypt(cipher.encrypt(big.subarray(256, 768), aad), aad), vec);
  });

  it('uses a fresh IV per template', () => {
    const cipher = new TemplateCipher(key);
    const a = cipher.encrypt(embedding(), aad);
    const b = cipher.encrypt(embedding(), aad);
    assert.notDeepEqual(a.subarray(1, 13), b.subarray(1, 13));
    assert.notDeepEqual(a, b);
  });

  it('detects tampering anywhere in the blob', () => {
    const cipher = new TemplateCipher(key);
    const blob = cipher.encrypt(embedding(), aad);
    for (const at of [1, 12, 14, 28, TEMPLATE_BLOB_HEADER, blob.length - 1]) {
      const bad = Buffer.from(blob);
      bad[at] ^= 0x01;
      assert.throws(() => cipher.decrypt(bad, aad), /authentication/, `byte ${at}`);
    }
    assert.throws(() => cipher.decrypt(blob.subarray(0, blob.length - 4), aad));
    assert.throws(() => cipher.decrypt(blob.subarray(0, 10), aad), /length/);
  });

  it('refuses a row moved to another tenant, user, template or model, and the unbound version 1 form', () => {
    const cipher = new TemplateCipher(key);
    const blob = cipher.encrypt(embedding(), aad);
    for (const other of [
      templateAad('client-b', 'user-1', 'tpl-1', 'arcface-r100'),
      templateAad('client-a', 'user-2', 'tpl-1', 'arcface-r100'),
      templateAad('client-a', 'user-1', 'tpl-2', 'arcface-r100'),
      templateAad('client-a', 'user-1', 'tpl-1', 'facenet'),
      legacyTemplateAad('client-a', 'tpl-1', 'arcface-r100'),
    ]) {
      assert.throws(() => cipher.decrypt(blob, other), /authentication/);
    }
    assert.throws(() => new TemplateCipher(randomBytes(32)).decrypt(blob, aad), /authentication/);
  });

  it('never writes the plaintext float bytes into the blob', () => {
    const cipher = new TemplateCipher(key);
    const vec = embedding();
    const blob = cipher.encrypt(vec, aad);
    const plain = Buffer.from(vec.buffer);
    // No 8-byte window (two floats) of the plaintext appears anywhere in the blob.
    for (let i = 0; i + 8 <= plain.length; i += 4) {
      assert.equal(blob.indexOf(plain.subarray(i, i + 8)), -1, `plaintext bytes at ${i} leaked`);
    }
  });

  it('decrypts older blobs after a key rotation', () => {
    const oldKey = randomBytes(32);
    const old = new TemplateCipher(oldKey);
    const blob = old.encrypt(embedding(), aad);
    const rotated = new TemplateCipher(randomBytes(32), { version: 2, previousKeys: new Map([[1, oldKey]]) });
    assert.deepEqual(rotated.decrypt(blob, aad), embedding());
    assert.equal(rotated.encrypt(embedding(), aad)[0], 2);
    assert.throws(() => new TemplateCipher(randomBytes(32), { version: 3 }).decrypt(blob, aad), /key version 1/);
  });

  it('rejects keys that are not 32 bytes', () => {
    assert.throws(() => new TemplateCipher(randomBytes(16)), /32-byte/);
  });
});

describe('loadMasterKey', () => {
  const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'wajah-key-'));

  it('uses WAJAH_MASTER_KEY (hex or base64) and writes nothing', () => {
    const dir = tmp();
    const key = randomBytes(32);
    const warnings: string[] = [];
    const log = { warn: (m: string) => warnings.push(m) };
    assert.deepEqual(loadMasterKey({ masterKey: key.toString('hex'), dataDir: dir }, log), key);
    assert.deepEqual(loadMasterKey({ masterKey: key.toString('base64'), dataDir: dir }, log), key);
    assert.deepEqual(fs.readdirSync(dir), []);
    assert.deepEqual(warnings, []);
  });

  it('generates master.key (0600) once with a warning, then reads it back', () => {
    const dir = path.join(tmp(), 'nested');
    const warnings: string[] = [];
    const log = { warn: (m: string) => warnings.push(m) };
    const first = loadMasterKey({ masterKey: null, dataDir: dir }, log);
    assert.equal(first.length, 32);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /Generated.*master\.key.*[Bb]ack it up/);
    const file = path.join(dir, 'master.key');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const second = loadMasterKey({ masterKey: null, dataDir: dir }, log);
    assert.deepEqual(second, first);
    assert.equal(warnings.length, 1, 'no warning when the key already exists');
    // A template encrypted under the first start decrypts after a restart.
    const blob = new TemplateCipher(first).encrypt(embedding(), aad);
    assert.deepEqual(new TemplateCipher(second).decrypt(blob, aad), embedding());
  });

  it('leaves no temporary files and agrees across concurrent first starts', async () => {
    const dir = tmp();
    const { execFile } = await import('node:child_process');
    const script = `import { loadMasterKey } from ${JSON.stringify(new URL('./template-cipher.ts', import.meta.url).href)};
      process.stdout.write(loadMasterKey({ masterKey: null, dataDir: process.argv[1] }, { warn() {} }).toString('hex'));`;
    const run = () =>
      new Promise<string>((resolve, reject) => {
        execFile(process.execPath, ['--input-type=module', '-e', script, dir], (err, stdout) => (err ? reject(err) : resolve(stdout)));
      });
    const keys = await Promise.all([run(), run(), run()]);
    assert.equal(new Set(keys).size, 1, 'all processes use the same key');
    assert.deepEqual(fs.readdirSync(dir), ['master.key']);
  });

  it('refuses a corrupt key file', () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'master.key'), 'not a key\n', { mode: 0o600 });
    assert.throws(() => loadMasterKey({ masterKey: null, dataDir: dir }, { warn() {} }), /32-byte key/);
  });
});
