import type { RgbImage } from '../image.ts';
import type { LivenessSignals } from '../types.ts';
import { faceShape } from './parallax.ts';
import { faceRegion, flatness, regionCrop } from './planarity.ts';
import type { AnalyzeOptions, Box } from '../types.ts';

type Mesh = Array<[number, number, number]>;

/**
 * Six-point eye contours in the MediaPipe mesh: [corner, upper, upper, corner, lower, lower] as in
 * Soukupová & Čech's eye aspect ratio. "right" is the subject's right eye (image-left when unmirrored).
 */
export const EYE_RIGHT = [33, 160, 158, 133, 153, 144] as const;
export const EYE_LEFT = [362, 385, 387, 263, 373, 380] as const;

function dist(mesh: Mesh, a: number, b: number): number {
  const p = mesh[a], q = mesh[b];
  return Math.hypot(p[0] - q[0], p[1] - q[1], p[2] - q[2]);
}

/**
 * Eye aspect ratio (|p2−p6| + |p3−p5|) / (2·|p1−p4|) from 3-D mesh distances: invariant to in-plane
 * rotation and scale, and less sensitive to yaw than 2-D distances. ≈0.25–0.35 open, ≈0.05–0.12 closed.
 */
export function eyeAspectRatio(mesh: Mesh, eye: readonly number[]): number {
  const [p1, p2, p3, p4, p5, p6] = eye;
  const w = dist(mesh, p1, p4);
  return w > 0 ? (dist(mesh, p2, p6) + dist(mesh, p3, p5)) / (2 * w) : 0;
}

/**
 * Smile 0..1 from mouth geometry: mouth width relative to the outer eye-corner distance, plus how far
 * the corners rise above the lip centre line (both measured in the face's own frame).
 */
export function smileScore(mesh: Mesh): number {
  const eyeW = dist(mesh, 33, 263);
  if (eyeW <= 0) return 0;
  const width = dist(mesh, 61, 291) / eyeW;
  // Corner lift: distance of the lip centre (13/14 midpoint) below the corners' midpoint, along the face's
  // vertical axis (perpendicular to the eye line).
  const ex = (mesh[263][0] - mesh[33][0]) / eyeW, ey = (mesh[263][1] - mesh[33][1]) / eyeW;
  const cx = (mesh[61][0] + mesh[291][0]) / 2, cy = (mesh[61][1] + mesh[291][1]) / 2;
  const lx = (mesh[13][0] + mesh[14][0]) / 2, ly = (mesh[13][1] + mesh[14][1]) / 2;
  const lift = ((lx - cx) * -ey + (ly - cy) * ex) / eyeW; // > 0 when the lip centre sits below the corners
  const s = (width - 0.62) / 0.25 + lift / 0.12;
  return Math.max(0, Math.min(1, s / 2));
}

/** 32×32 grey thumbnail by area-averaging an aligned RGB crop (1024 bytes). */
export function faceThumbnail(aligned: RgbImage, size = 32): Uint8Array {
  const out = new Uint8Array(size * size);
  const sx = aligned.width / size, sy = aligned.height / size;
  for (let v = 0; v < size; v++) {
    for (let u = 0; u < size; u++) {
      let acc = 0, n = 0;
      for (let y = Math.floor(v * sy); y < Math.floor((v + 1) * sy); y++) {
        for (let x = Math.floor(u * sx); x < Math.floor((u + 1) * sx); x++) {
          const i = (y * aligned.width + x) * 3;
          acc += 0.299 * aligned.data[i] + 0.587 * aligned.data[i + 1] + 0.114 * aligned.data[i + 2];
          n++;
        }
      }
      out[v * size + u] = Math.round(acc / (n || 1));
    }
  }
  return out;
}

/**
 * Mean absolute difference (0..255) between two thumbnails after removing each one's mean brightness:
 * a printed photo or a frozen replay stays near 0–2 frame to frame, a live face moves more.
 *
 * @example const change = thumbnailChange(prev.signals.faceThumb, cur.signals.faceThumb);
 */
export function thumbnailChange(a: Uint8Array, b: Uint8Array): number {
  let ma = 0, mb = 0;
  for (let i = 0; i < a.length; i++) { ma += a[i]; mb += b[i]; }
  ma /= a.length; mb /= b.length;
  let d = 0;
  for (let i = 0; i < a.length; i++) d += Math.abs(a[i] - ma - (b[i] - mb));
  return d / a.length;
}

/**
 * Where on the face two 32×32 aligned thumbnails differ (mean absolute difference per band, each
 * thumbnail's brightness removed). ArcFace alignment puts the eyes on row ≈ 15, the nose tip on ≈ 20
 * and the mouth on ≈ 26: a blink changes the eye band and leaves the forehead and nose as they were;
 * a picture stretched or squashed to fake one moves the texture of the whole face.
 */
export function bandChanges(a: Uint8Array, b: Uint8Array): { eyes: number; forehead: number; nose: number } {
  if (a.length !== 1024 || b.length !== 1024) return { eyes: 0, forehead: 0, nose: 0 };
  let ma = 0, mb = 0;
  for (let i = 0; i < 1024; i++) { ma += a[i]; mb += b[i]; }
  ma /= 1024; mb /= 1024;
  const band = (r0: number, r1: number, c0: number, c1: number) => {
    let d = 0, n = 0;
    for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) { d += Math.abs(a[r * 32 + c] - ma - (b[r * 32 + c] - mb)); n++; }
    return d / n;
  };
  return { eyes: band(11, 18, 4, 28), forehead: band(2, 9, 4, 28), nose: band(18, 23, 10, 22) };
}

/** Every mesh point lies inside the picture (`width` × `height`): the whole face is visible. */
export function faceInFrame(mesh: Mesh, width: number, height: number): boolean {
  return mesh.every(([x, y]) => x >= 0 && y >= 0 && x <= width && y <= height);
}

/**
 * The texture signals of a liveness frame: its own face-region crop (`withCrop`), and its flatness
 * against an earlier frame's crop and region (`planarRef`).
 */
export function planaritySignals(
  image: RgbImage,
  face: { box: Box; yaw: number },
  withCrop: boolean,
  planarRef: AnalyzeOptions['planarRef'],
): Pick<LivenessSignals, 'regionCrop' | 'flatness'> {
  const turned = planarRef && (planarRef.yaw === undefined || Math.abs(face.yaw - planarRef.yaw) >= (planarRef.minTurn ?? 0));
  return {
    regionCrop: withCrop ? regionCrop(image, faceRegion(face.box)) : null,
    flatness: planarRef && turned ? flatness(planarRef.crop, regionCrop(image, planarRef.region)) : null,
  };
}

export function livenessSignals(mesh: Mesh, aligned: RgbImage, passiveLiveScore: number | null, image: { width: number; height: number }): Omit<LivenessSignals, 'regionCrop' | 'flatness'> {
  const rightEyeOpenness = eyeAspectRatio(mesh, EYE_RIGHT);
  const leftEyeOpenness = eyeAspectRatio(mesh, EYE_LEFT);
  const shape = faceShape(mesh);
  return {
    eyeOpenness: (leftEyeOpenness + rightEyeOpenness) / 2,
    leftEyeOpenness,
    rightEyeOpenness,
    smile: smileScore(mesh),
    faceThumb: faceThumbnail(aligned),
    shape,
    faceInFrame: faceInFrame(mesh, image.width, image.height),
    passiveLiveScore,
  };
}
