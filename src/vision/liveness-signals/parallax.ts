/**
 * Depth evidence for head-turn challenges: motion parallax of the nose tip.
 *
 * Physics: every point of a flat picture, however it is moved, rotated, tilted or perspective-warped in
 * front of a camera, maps from one frame to the next through a single plane homography. A real head is
 * not flat: the nose tip stands well in front of the plane of the eye corners, mouth corners, chin and
 * forehead (by about 0.3–0.5 of the outer-eye-corner width in adults, less in small children), so when
 * the head turns by Δψ the nose tip leaves the homography that carries that plane by roughly
 * depth × sin Δψ, toward the side the head turns to. A picture can only reach that by being cut or
 * morphed, not by being moved.
 *
 * `noseParallax` fits the homography on the "face plane" landmarks of a reference frame and the current
 * frame (least squares, Hartley-normalised DLT), predicts where the nose tip would be if the face were
 * flat, and returns how far the real nose tip is from it, in outer-eye-corner widths of the current frame,
 * along the eye line (`along`, the yaw direction) and across it (`across`, the pitch direction).
 *
 * @example
 *   const p = noseParallax(refShape, curShape); // { along: -0.12, across: 0.01 }
 */

/** Mesh indices kept per frame (2-D image pixels, in this order): the nose tip first, then the plane points. */
export const SHAPE_POINTS = [
  1, // nose tip (pronasale)
  33, 133, 362, 263, // eye corners: subject's right outer, right inner, left inner, left outer
  61, 291, // mouth corners
  152, // chin
  10, // forehead (top of the mesh's midline)
] as const;

const NOSE = 0;
/** Positions in SHAPE_POINTS of the face-plane landmarks the homography is fitted on. */
const PLANE = [1, 2, 3, 4, 5, 6, 7, 8];
const OUTER_RIGHT = 1, OUTER_LEFT = 4;

type Mesh = Array<[number, number, number]>;

/** The SHAPE_POINTS of a mesh as [x0, y0, x1, y1, …] in image pixels. */
export function faceShape(mesh: Mesh): Float32Array {
  const out = new Float32Array(SHAPE_POINTS.length * 2);
  SHAPE_POINTS.forEach((m, i) => {
    out[2 * i] = mesh[m]?.[0] ?? NaN;
    out[2 * i + 1] = mesh[m]?.[1] ?? NaN;
  });
  return out;
}

export interface Parallax {
  /** Nose-tip offset from the flat-face prediction along the eye line (image-right positive), in eye widths. */
  along: number;
  /** The same across the eye line (image-down positive when upright), in eye widths. */
  across: number;
}

/** Null when either shape is incomplete or the fit is degenerate. */
export function noseParallax(ref: ArrayLike<number>, cur: ArrayLike<number>): Parallax | null {
  const n = SHAPE_POINTS.length;
  if (ref.length !== 2 * n || cur.length !== 2 * n) return null;
  for (let i = 0; i < 2 * n; i++) if (!Number.isFinite(ref[i]) || !Number.isFinite(cur[i])) return null;
  const src = PLANE.map((i) => [ref[2 * i], ref[2 * i + 1]] as [number, number]);
  const dst = PLANE.map((i) => [cur[2 * i], cur[2 * i + 1]] as [number, number]);
  const H = fitHomography(src, dst);
  if (!H) return null;
  const predicted = apply(H, ref[2 * NOSE], ref[2 * NOSE + 1]);
  if (!predicted) return null;
  const ex = cur[2 * OUTER_LEFT] - cur[2 * OUTER_RIGHT], ey = cur[2 * OUTER_LEFT + 1] - cur[2 * OUTER_RIGHT + 1];
  const eyeWidth = Math.hypot(ex, ey);
  if (!(eyeWidth > 1)) return null;
  // Unit vectors of the face in the image: along the eye line (from the image-left eye to the image-right
  // one) and across it.
  const flip = ex < 0 ? -1 : 1; // keep "along" pointing image-right
  const ux = (flip * ex) / eyeWidth, uy = (flip * ey) / eyeWidth;
  const dx = cur[2 * NOSE] - predicted[0], dy = cur[2 * NOSE + 1] - predicted[1];
  return { along: (dx * ux + dy * uy) / eyeWidth, across: (-dx * uy + dy * ux) / eyeWidth };
}

/** Least-squares plane homography src → dst (h33 = 1), on Hartley-normalised points; null if degenerate. */
export function fitHomography(src: Array<[number, number]>, dst: Array<[number, number]>): number[] | null {
  if (src.length < 4 || src.length !== dst.length) return null;
  const ns = normaliser(src), nd = normaliser(dst);
  if (!ns || !nd) return null;
  // Normal equations of the 8 unknowns (h11..h32) for the two linear equations per point.
  const A = Array.from({ length: 8 }, () => new Array<number>(9).fill(0));
  for (let k = 0; k < src.length; k++) {
    const [x, y] = ns.map(src[k]);
    const [u, v] = nd.map(dst[k]);
    const rows: Array<[number[], number]> = [
      [[x, y, 1, 0, 0, 0, -u * x, -u * y], u],
      [[0, 0, 0, x, y, 1, -v * x, -v * y], v],
    ];
    for (const [r, b] of rows) {
      for (let i = 0; i < 8; i++) {
        for (let j = 0; j < 8; j++) A[i][j] += r[i] * r[j];
        A[i][8] += r[i] * b;
      }
    }
  }
  const h = solve(A);
  if (!h) return null;
  // H = Nd⁻¹ · Hn · Ns
  const Hn = [h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], 1];
  const H = mul(mul(nd.inverse, Hn), ns.matrix);
  return H[8] !== 0 ? H.map((x) => x / H[8]) : null;
}

function apply(H: number[], x: number, y: number): [number, number] | null {
  const w = H[6] * x + H[7] * y + H[8];
  if (Math.abs(w) < 1e-9) return null;
  return [(H[0] * x + H[1] * y + H[2]) / w, (H[3] * x + H[4] * y + H[5]) / w];
}

/** Hartley normalisation: centroid to the origin, mean distance √2. */
function normaliser(pts: Array<[number, number]>): { map: (p: [number, number]) => [number, number]; matrix: number[]; inverse: number[] } | null {
  let cx = 0, cy = 0;
  for (const [x, y] of pts) { cx += x; cy += y; }
  cx /= pts.length; cy /= pts.length;
  let d = 0;
  for (const [x, y] of pts) d += Math.hypot(x - cx, y - cy);
  d /= pts.length;
  if (!(d > 1e-9)) return null;
  const s = Math.SQRT2 / d;
  return {
    map: ([x, y]) => [(x - cx) * s, (y - cy) * s],
    matrix: [s, 0, -s * cx, 0, s, -s * cy, 0, 0, 1],
    inverse: [1 / s, 0, cx, 0, 1 / s, cy, 0, 0, 1],
  };
}

function mul(a: number[], b: number[]): number[] {
  const out = new Array<number>(9).fill(0);
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 3; k++) out[3 * i + j] += a[3 * i + k] * b[3 * k + j];
  return out;
}

/** Gaussian elimination with partial pivoting on an n×(n+1) augmented matrix. */
function solve(A: number[][]): number[] | null {
  const n = A.length;
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(A[r][c]) > Math.abs(A[p][c])) p = r;
    if (Math.abs(A[p][c]) < 1e-12) return null;
    [A[c], A[p]] = [A[p], A[c]];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = A[r][c] / A[c][c];
      for (let k = c; k <= n; k++) A[r][k] -= f * A[c][k];
    }
  }
  return A.map((row, i) => row[n] / row[i]);
}

