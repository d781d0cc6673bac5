/**
 * Presentation attacks built from a still photo, for the liveness attack suite (tests and
 * scripts/liveness-eval.ts). Deterministic: a seeded generator, so a failing run can be replayed.
 *
 * - stretchBlink: the photo re-sent with sub-pixel-ish jitter (shift ≤ 3 px, brightness ±3 %, pixel noise
 *   σ ≈ 7) and, in four frames of every six, stretched vertically by `factor` about its centre, so the
 *   eye aspect ratio swings like a blink (factor < 1 squashes instead).
 * - panZoom: a moving crop (zoom and pan) of the photo, faking motion.
 */
import sharp from 'sharp';

/** mulberry32: a small seeded PRNG. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(rand: () => number): number {
  const u = Math.max(1e-12, rand()), v = rand();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** One jittered copy: shift (dx, dy), brightness gain, additive noise; optional vertical scale about the centre. */
async function jitter(photo: Buffer, rand: () => number, scaleY: number): Promise<Buffer> {
  const img = sharp(photo).removeAlpha();
  const meta = await img.metadata();
  const W = meta.width!, H = meta.height!;
  let base = img;
  if (scaleY !== 1) {
    const h = Math.round(H * scaleY);
    const resized = await sharp(photo).removeAlpha().resize(W, h, { fit: 'fill' }).toBuffer();
    base = scaleY > 1
      ? sharp(resized).extract({ left: 0, top: Math.round((h - H) / 2), width: W, height: H })
      : sharp(resized).extend({ top: Math.floor((H - h) / 2), bottom: H - h - Math.floor((H - h) / 2), left: 0, right: 0, background: { r: 0, g: 0, b: 0 } });
  }
  const { data } = await base.raw().toBuffer({ resolveWithObject: true });
  const dx = Math.round((rand() * 2 - 1) * 3), dy = Math.round((rand() * 2 - 1) * 3);
  const gain = 1 + (rand() * 2 - 1) * 0.03;
  const out = Buffer.alloc(W * H * 3);
  for (let y = 0; y < H; y++) {
    const sy = Math.min(H - 1, Math.max(0, y - dy));
    for (let x = 0; x < W; x++) {
      const sx = Math.min(W - 1, Math.max(0, x - dx));
      const i = (sy * W + sx) * 3, o = (y * W + x) * 3;
      for (let c = 0; c < 3; c++) out[o + c] = Math.max(0, Math.min(255, Math.round(data[i + c] * gain + gaussian(rand) * 7)));
    }
  }
  return sharp(out, { raw: { width: W, height: H, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
}

/** The stretch "blink" attack: `count` frames, stretched by `factor` in frames 1–4 of every 6. */
export async function stretchBlink(photo: Buffer, factor: number, count: number, seed = 1): Promise<Buffer[]> {
  const rand = seeded(seed);
  const frames: Buffer[] = [];
  for (let i = 0; i < count; i++) frames.push(await jitter(photo, rand, i % 6 >= 1 && i % 6 <= 4 ? factor : 1));
  return frames;
}

/** A moving crop: zooms from 100 % to 80 % of the photo while panning sideways, with the same jitter. */
export async function panZoom(photo: Buffer, count: number, seed = 2): Promise<Buffer[]> {
  const rand = seeded(seed);
  const meta = await sharp(photo).metadata();
  const W = meta.width!, H = meta.height!;
  const frames: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const t = i / Math.max(1, count - 1);
    const z = 1 - 0.2 * Math.sin(Math.PI * t);
    const w = Math.round(W * z), h = Math.round(H * z);
    const left = Math.round((W - w) * (0.5 + 0.5 * Math.sin(2 * Math.PI * t))), top = Math.round((H - h) / 2);
    const crop = await sharp(photo).extract({ left, top, width: w, height: h }).resize(W, H).jpeg().toBuffer();
    frames.push(await jitter(crop, rand, 1));
  }
  return frames;
}
