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

/**
 * A flat photo turned about its vertical axis in front of a pinhole camera (focal `focal` × the photo's
 * width): frame k shows the plane rotated by θ_k, going 0 → `maxDeg` → 0 → −`maxDeg` → 0 over `count`
 * frames, so each side is "turned to" once; each frame gets the same jitter as above. This is the
 * perspective warp an attacker would use to fake a head turn with a picture.
 */
export async function perspectiveTurn(photo: Buffer, maxDeg: number, count: number, focal = 0.8, seed = 3): Promise<Buffer[]> {
  const rand = seeded(seed);
  const { data, info } = await sharp(photo).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const W = info.width, H = info.height;
  const frames: Buffer[] = [];
  for (let k = 0; k < count; k++) {
    const theta = (maxDeg * Math.PI / 180) * Math.sin((2 * Math.PI * k) / Math.max(1, count - 1));
    const warped = warpTurn(data, W, H, theta, focal * W);
    frames.push(await jitter(await sharp(warped, { raw: { width: W, height: H, channels: 3 } }).jpeg({ quality: 95 }).toBuffer(), rand, 1));
  }
  return frames;
}

/** A flat photo rotated in the image plane, 0 → `maxDeg` → 0 → −`maxDeg` → 0, with jitter. */
export async function rollStill(photo: Buffer, maxDeg: number, count: number, seed = 4): Promise<Buffer[]> {
  const rand = seeded(seed);
  const meta = await sharp(photo).metadata();
  const W = meta.width!, H = meta.height!;
  const frames: Buffer[] = [];
  for (let k = 0; k < count; k++) {
    const deg = maxDeg * Math.sin((2 * Math.PI * k) / Math.max(1, count - 1));
    const rotated = await sharp(photo).removeAlpha().rotate(deg, { background: { r: 0, g: 0, b: 0 } }).toBuffer({ resolveWithObject: true });
    const left = Math.max(0, Math.round((rotated.info.width - W) / 2)), top = Math.max(0, Math.round((rotated.info.height - H) / 2));
    const crop = await sharp(rotated.data).extract({ left, top, width: Math.min(W, rotated.info.width), height: Math.min(H, rotated.info.height) }).jpeg({ quality: 95 }).toBuffer();
    frames.push(await jitter(crop, rand, 1));
  }
  return frames;
}

/** Inverse-maps every output pixel onto the plane rotated by `theta` about the vertical axis (bilinear). */
function warpTurn(src: Buffer, W: number, H: number, theta: number, f: number): Buffer {
  const out = Buffer.alloc(W * H * 3);
  const c = Math.cos(theta), s = Math.sin(theta), cx = W / 2, cy = H / 2;
  for (let y = 0; y < H; y++) {
    const v = y - cy;
    for (let x = 0; x < W; x++) {
      const u = x - cx;
      const den = f * c - u * s;
      if (den <= 0) continue;
      const X = (u * f) / den;
      const Y = (v * (f + X * s)) / f;
      const sx = X + cx, sy = Y + cy;
      if (sx < 0 || sy < 0 || sx > W - 1 || sy > H - 1) continue;
      const x0 = Math.floor(sx), y0 = Math.floor(sy), x1 = Math.min(W - 1, x0 + 1), y1 = Math.min(H - 1, y0 + 1);
      const fx = sx - x0, fy = sy - y0;
      const o = (y * W + x) * 3;
      for (let ch = 0; ch < 3; ch++) {
        const a = src[(y0 * W + x0) * 3 + ch], b = src[(y0 * W + x1) * 3 + ch];
        const d = src[(y1 * W + x0) * 3 + ch], e = src[(y1 * W + x1) * 3 + ch];
        out[o + ch] = Math.round((a * (1 - fx) + b * fx) * (1 - fy) + (d * (1 - fx) + e * fx) * fy);
      }
    }
  }
  return out;
}

/**
 * A card held over the photo and swept across the face from one side: it covers 0 → 55 % of the face box
 * and back, from the left in the first half of the frames and from the right in the second. A mesh
 * that sees half a face guesses the hidden half, often as a turned head.
 */
export async function occludeSweep(photo: Buffer, box: { x: number; y: number; width: number; height: number }, count: number, seed = 5): Promise<Buffer[]> {
  const rand = seeded(seed);
  const meta = await sharp(photo).metadata();
  const W = meta.width!, H = meta.height!;
  const frames: Buffer[] = [];
  const half = Math.floor(count / 2);
  for (let k = 0; k < count; k++) {
    const fromLeft = k < half;
    const t = fromLeft ? k / Math.max(1, half - 1) : (k - half) / Math.max(1, count - half - 1);
    const cover = 0.55 * Math.sin(Math.PI * t);
    const w = Math.max(1, Math.round(box.width * (cover + 0.15)));
    const x = fromLeft ? Math.round(box.x - box.width * 0.15) : Math.round(box.x + box.width * (1 - cover));
    const top = Math.max(0, Math.round(box.y - box.height * 0.3)), height = Math.min(H - top, Math.round(box.height * 1.6));
    const card = Buffer.from(`<svg width="${W}" height="${H}"><rect x="${x}" y="${top}" width="${w}" height="${height}" fill="#d8c8b0"/></svg>`);
    frames.push(await jitter(await sharp(photo).removeAlpha().composite([{ input: card }]).jpeg({ quality: 95 }).toBuffer(), rand, 1));
  }
  return frames;
}
