/**
 * The five fake-camera clips the stream benchmarks play (../shared/data/video/fakecam), each thinned to
 * about 10–15 frames/s: every frame of the 15 fps clip, every second one of the 25–30 fps clips.
 */
import path from 'node:path';
import { testDataDir } from '../../src/config/env.ts';
import { readMjpegFrames } from '../../src/vision/mjpeg.ts';

export const FAKECAM_CLIPS = [
  'personA_live_headturn_640x360_15fps.mjpeg',
  'talking_blink_aoc_512x512_25fps.mjpeg',
  'liveportrait_d0_512x512_25fps.mjpeg',
  'liveportrait_d11_512x512_25fps.mjpeg',
  'liveportrait_d9_512x480_30fps.mjpeg',
] as const;

/** The JPEG frames of one clip at the benchmarks' rate. */
export function streamFrames(file: string): Buffer[] {
  const step = file.includes('15fps') ? 1 : 2;
  return readMjpegFrames(path.join(testDataDir(), 'video/fakecam', file)).filter((_, k) => k % step === 0);
}
