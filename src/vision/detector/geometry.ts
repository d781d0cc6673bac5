import type { BufferPool } from '../buffer-pool.ts';
import type { RgbImage } from '../image.ts';
import type { DetectedFace } from './types.ts';

/** MediaPipe face-mesh indices used for the five alignment points. */
export const MESH = {
  rightEyeOuter: 33, // the subject's right eye = image-left in an unmirrored photo
  rightEyeInner: 133,
  leftEyeInner: 362,
  leftEyeOuter: 263,
  noseTip: 1,
  mouthRight: 61,
  mouthLeft: 291,
} as const;

type Mesh = Array<[number, number, number]>;

/** The image with a grey border of `pad` pixels on every side, in a buffer taken from `pool` when given. */
export function padImage(img: RgbImage, pad: number, pool?: BufferPool<Uint8Array<ArrayBuffer>>): RgbImage {
  const W = img.width + 2 * pad, H = img.height + 2 * pad;
  const data = (pool ? pool.take(W * H * 3) : new Uint8Array(W * H * 3)).fill(128);
  for (let y = 0; y < img.height; y++) {
    data.set(img.data.subarray(y * img.width * 3, (y + 1) * img.width * 3), ((y + pad) * W + pad) * 3);
  }
  return { data, width: W, height: H };
}

/** A face found in a padded image, moved back by `d` pixels. */
export function shiftFace(f: DetectedFace, d: number): DetectedFace {
  return {
    ...f,
    box: { ...f.box, x: f.box.x + d, y: f.box.y + d },
    mesh: f.mesh.map(([x, y, z]) => [x + d, y + d, z] as [number, number, number]),
    five: f.five.map(([x, y]) => [x + d, y + d] as [number, number]),
  };
}

/** Five alignment points from the mesh, each pair ordered image-left first on an upright face. */
export function fivePoints(mesh: Mesh): Array<[number, number]> {
  const mid = (a: number, b: number): [number, number] => [(mesh[a][0] + mesh[b][0]) / 2, (mesh[a][1] + mesh[b][1]) / 2];
  const e1 = mid(MESH.rightEyeOuter, MESH.rightEyeInner);
  const e2 = mid(MESH.leftEyeInner, MESH.leftEyeOuter);
  const m1: [number, number] = [mesh[MESH.mouthRight][0], mesh[MESH.mouthRight][1]];
  const m2: [number, number] = [mesh[MESH.mouthLeft][0], mesh[MESH.mouthLeft][1]];
  const nose: [number, number] = [mesh[MESH.noseTip][0], mesh[MESH.noseTip][1]];
  // Each pair ordered along the face's own left-to-right axis (outer eye corner 33 → 263): on an upright
  // face that is image-left first, and it stays right for a face on its side or upside down.
  const ax = mesh[MESH.leftEyeOuter][0] - mesh[MESH.rightEyeOuter][0];
  const ay = mesh[MESH.leftEyeOuter][1] - mesh[MESH.rightEyeOuter][1];
  const along = (p: [number, number]) => p[0] * ax + p[1] * ay;
  const [le, re] = along(e1) <= along(e2) ? [e1, e2] : [e2, e1];
  const [lm, rm] = along(m1) <= along(m2) ? [m1, m2] : [m2, m1];
  return [le, re, nose, lm, rm];
}

/** Tight box around the 468 mesh points (Human's own box includes a margin). */
export function boxFromMesh(mesh: Mesh) {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (let i = 0; i < 468; i++) {
    const [x, y] = mesh[i];
    if (x < x0) x0 = x;
    if (y < y0) y0 = y;
    if (x > x1) x1 = x;
    if (y > y1) y1 = y;
  }
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

export function clamp01(v: number): number {
  return Math.max(0, Math.min(1, v));
}
