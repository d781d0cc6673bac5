import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseBinaryFrame } from './messages.ts';

/** A binary frame: the 4-byte header length as given, then `rest`. */
const frame = (headerLength: number, rest: Uint8Array) => {
  const out = new Uint8Array(4 + rest.length);
  new DataView(out.buffer).setUint32(0, headerLength);
  out.set(rest, 4);
  return out;
};

test('a binary frame whose header length runs past the message says so, not that the length is over the limit', () => {
  const short = parseBinaryFrame(frame(4000, new TextEncoder().encode('{"timestamp":1}')));
  assert.equal(short.ok, false);
  assert.match(!short.ok ? short.message : '', /runs past the end of the message \(15 bytes after it\)/);
  const huge = parseBinaryFrame(frame(100_000, new Uint8Array(8)));
  assert.match(!huge.ok ? huge.message : '', /at most 4096 bytes; got 100000/);
  const fine = parseBinaryFrame(frame(2, new Uint8Array([0x7b, 0x7d, 0xff, 0xd8, 0xff])));
  assert.equal(fine.ok, true);
});
