/**
 * Texture evidence that a "turned head" is a flat picture.
 *
 * Physics: a flat picture, however it is moved, tilted or partly covered, carries its texture from one
 * frame to the next through a single plane homography. A head turning by 20° or more does not: the nose
 * moves across the cheeks, the near cheek widens, the far one folds away. Unlike the mesh's landmarks
 * (which the mesh model guesses where it cannot see, e.g. behind a card held over half the face), this
 * looks only at the picture.
 *
 * How: the face region of the challenge's first frame (its box, 1.3× wider, as a 64×64 grey crop) is
 * compared with the same image region of the current frame. Textured 9×9 patches on a grid are found in
 * the current crop by normalised cross-correlation (±10 px), and a homography is fitted to the matches
 * by RANSAC. A flat picture: most matches on one homography. A turned head: a minority.
 *
 * @example
 *   const ref = regionCrop(img0, faceRegion(face0.box));
 *   flatness(ref, regionCrop(img1, faceRegion(face0.box))); // { matches: 31, inliers: 0.97 }
 */
import type { RgbImage } from '../image.ts';
import type { Box } from '../types.ts';
import { fitHomography } from './parallax.ts';

export const CROP = 64;
const PATCH = 4; // half side: 9×9 patches
const SEARCH = 10;
const GRID = { from: 12, to: 52, step: 5 };
/** Patches flatter than this (grey standard deviation) carry no texture to match. */
const MIN_PATCH_STD = 5;
const MIN_NCC = 0.85;
const RANSAC_ITERATIONS = 300;
/** A match agrees with a homography within this many pixels of the 64-pixel crop. */
const INLIER_PX = 1.5;

/** The square image region a face's crop covers: its box, 1.3× its larger side, same centre. */
export function faceRegion(box: Box): Box {
  const side = 1.3 * Math.max(box.width, box.height);
  return { x: box.x + box.width / 2 - side / 2, y: box.y + box.height / 2 - side / 2, width: side, height: side };
}

/** The region as a CROP × CROP grey crop (box-averaged, clamped at the image border). */
export function regionCrop(img: RgbImage, region: Box): Uint8Array {
  const out = new Uint8Array(CROP * CROP);
  const step = region.width / CROP;
  const r = Math.max(0, Math.floor(step / 2));
  for (let j = 0; j < CROP; j++) {
    for (let i = 0; i < CROP; i++) {
      const xi = Math.round(region.x + (i + 0.5) * step), yi = Math.round(region.y + (j + 0.5) * step);
      let acc = 0, n = 0;
      for (let dy = -r; dy <= r; dy++) {
        const y = Math.min(img.height - 1, Math.max(0, yi + dy));
        for (let dx = -r; dx <= r; dx++) {
          const x = Math.min(img.width - 1, Math.max(0, xi + dx));
          const k = (y * img.width + x) * 3;
          acc += 0.299 * img.data[k] + 0.587 * img.data[k + 1] + 0.114 * img.data[k + 2];
          n++;
        }
      }
      out[j * CROP + i] = Math.round(acc / n);
    }
  }
  return out;
}

export interface Flatness {
  /** Textured patches of the first crop found again in the second. */
  matches: number;
  /** Share of those matches that one homography carries (0..1). */
  inliers: number;
}

/** How much of the texture of `ref` reaches `cur` through one plane homography (same region of two frames). */
export function flatness(ref: ArrayLike<number>, cur: ArrayLike<number>): Flatness {
  if (ref.length !== CROP * CROP || cur.length !== CROP * CROP) return { matches: 0, inliers: 0 };
  const pairs = matchPatches(ref, cur);
  if (pairs.length < 4) return { matches: pairs.length, inliers: 0 };
  return { matches: pairs.length, inliers: ransacInliers(pairs) / pairs.length };
}

type Pair = [[number, number], [number, number]];

function matchPatches(a: ArrayLike<number>, b: ArrayLike<number>): Pair[] {
  const size = (2 * PATCH + 1) ** 2;
  const out: Pair[] = [];
  for (let cy = GRID.from; cy <= GRID.to; cy += GRID.step) {
    for (let cx = GRID.from; cx <= GRID.to; cx += GRID.step) {
      let ma = 0;
      for (let dy = -PATCH; dy <= PATCH; dy++) for (let dx = -PATCH; dx <= PATCH; dx++) ma += a[(cy + dy) * CROP + cx + dx];
      ma /= size;
      let va = 0;
      for (let dy = -PATCH; dy <= PATCH; dy++) for (let dx = -PATCH; dx <= PATCH; dx++) va += (a[(cy + dy) * CROP + cx + dx] - ma) ** 2;
      if (Math.sqrt(va / size) < MIN_PATCH_STD) continue;
      let best = -2, bx = 0, by = 0;
      const W = 2 * SEARCH + 1;
      const score = new Float64Array(W * W).fill(-2);
      for (let sy = -SEARCH; sy <= SEARCH; sy++) {
        for (let sx = -SEARCH; sx <= SEARCH; sx++) {
          const qx = cx + sx, qy = cy + sy;
          if (qx - PATCH < 0 || qy - PATCH < 0 || qx + PATCH >= CROP || qy + PATCH >= CROP) continue;
          let mb = 0;
          for (let dy = -PATCH; dy <= PATCH; dy++) for (let dx = -PATCH; dx <= PATCH; dx++) mb += b[(qy + dy) * CROP + qx + dx];
          mb /= size;
          let ab = 0, vb = 0;
          for (let dy = -PATCH; dy <= PATCH; dy++) {
            for (let dx = -PATCH; dx <= PATCH; dx++) {
              const u = a[(cy + dy) * CROP + cx + dx] - ma, v = b[(qy + dy) * CROP + qx + dx] - mb;
              ab += u * v;
              vb += v * v;
            }
          }
          const ncc = ab / Math.sqrt(va * vb + 1e-9);
          score[(sy + SEARCH) * W + sx + SEARCH] = ncc;
          if (ncc > best) (best = ncc, bx = qx, by = qy);
        }
      }
      if (best < MIN_NCC) continue;
      // Sub-pixel peak: a parabola through the best score and its neighbours, on each axis.
      const at = (x: number, y: number) => {
        const sx = x - cx + SEARCH, sy = y - cy + SEARCH;
        return sx < 0 || sy < 0 || sx >= W || sy >= W ? -2 : score[sy * W + sx];
      };
      const peak = (l: number, c: number, r: number) => (l > -2 && r > -2 && l + r - 2 * c < 0 ? Math.max(-0.5, Math.min(0.5, (l - r) / (2 * (l + r - 2 * c)))) : 0);
      out.push([[cx, cy], [bx + peak(at(bx - 1, by), best, at(bx + 1, by)), by + peak(at(bx, by - 1), best, at(bx, by + 1))]]);
    }
  }
  return out;
}

/** Largest number of pairs one homography (from 4-pair samples, a fixed seed) carries within INLIER_PX. */
function ransacInliers(pairs: Pair[]): number {
  let seed = 0x9e3779b9;
  const rand = () => {
    seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return seed / 4294967296;
  };
  let best = 0;
  for (let it = 0; it < RANSAC_ITERATIONS; it++) {
    const idx = new Set<number>();
    while (idx.size < 4) idx.add(Math.floor(rand() * pairs.length));
    const sample = [...idx].map((i) => pairs[i]);
    const H = fitHomography(sample.map((p) => p[0]), sample.map((p) => p[1]));
    if (!H) continue;
    let n = 0;
    for (const [[x, y], [u, v]] of pairs) {
      const w = H[6] * x + H[7] * y + H[8];
      if (Math.abs(w) < 1e-9) continue;
      if (Math.hypot((H[0] * x + H[1] * y + H[2]) / w - u, (H[3] * x + H[4] * y + H[5]) / w - v) <= INLIER_PX) n++;
    }
    if (n > best) best = n;
    if (best === pairs.length) break;
  }
  return best;
}
