import { readFileSync } from 'node:fs';

/**
 * Split a concatenated-JPEG stream (ffmpeg `-f mjpeg`, Chromium's fake-camera format) into frames:
 * each frame runs from an SOI marker (FF D8 FF) to the next EOI marker (FF D9).
 *
 * @example const frames = readMjpegFrames('../shared/data/video/fakecam/talking_blink_aoc_512x512_25fps.mjpeg');
 */
export function readMjpegFrames(path: string): Buffer[] {
  return splitMjpeg(readFileSync(path));
}

export function splitMjpeg(buf: Buffer): Buffer[] {
  const frames: Buffer[] = [];
  let i = 0;
  while (i < buf.length - 3) {
    const start = indexOfSoi(buf, i);
    if (start < 0) break;
    // Entropy-coded data never contains FF D9 (0xFF bytes are stuffed as FF 00), so the first EOI ends the frame.
    const end = buf.indexOf(EOI, start + 3);
    if (end < 0) break;
    frames.push(buf.subarray(start, end + 2));
    i = end + 2;
  }
  return frames;
}

const EOI = Buffer.from([0xff, 0xd9]);

function indexOfSoi(buf: Buffer, from: number): number {
  for (let i = from; i < buf.length - 2; i++) if (buf[i] === 0xff && buf[i + 1] === 0xd8 && buf[i + 2] === 0xff) return i;
  return -1;
}
