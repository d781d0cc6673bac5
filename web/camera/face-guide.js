// The face guide on the camera preview: an oval drawn around the face the server found in the last
// frame (its box mapped from the frame's pixels to the preview, which is cover-fitted and mirrored in
// CSS), green only when that frame is good, and a ring around the oval: the outer arc is the progress
// (challenges completed of those issued, or frames captured of those needed), the inner arc the time
// left for the current challenge. Without a face the guide waits in the middle of the preview.

/**
 * Maps a face box in the frame's pixels to the preview's pixels. The preview shows the video with
 * `object-fit: cover` (scaled to fill, centred, the overflow cropped) and `scaleX(-1)` (mirrored).
 * @param {{ box: {x:number,y:number,width:number,height:number}, image_width: number, image_height: number }} face
 * @param {{ width: number, height: number }} view the preview's size in CSS pixels
 * @example mapFaceBox({ box: { x: 0, y: 0, width: 10, height: 10 }, image_width: 100, image_height: 100 }, { width: 200, height: 200 })
 *   // → { x: 180, y: 0, width: 20, height: 20 }: the image's top-left corner is the preview's top-right
 */
export function mapFaceBox(face, view) {
  const s = Math.max(view.width / face.image_width, view.height / face.image_height);
  const ox = (view.width - face.image_width * s) / 2;
  const oy = (view.height - face.image_height * s) / 2;
  const { x, y, width, height } = face.box;
  return { x: view.width - (ox + (x + width) * s), y: oy + y * s, width: width * s, height: height * s };
}

/** The oval around a mapped face box: a head is a little wider and taller than the detector's box. */
export function ovalAround(b) {
  const width = b.width * 1.3;
  const height = b.height * 1.55;
  return { left: b.x + b.width / 2 - width / 2, top: b.y + b.height * 0.45 - height / 2, width, height };
}

const SVG = 'http://www.w3.org/2000/svg';
const RING_GAP = 10; // px between the oval and the ring

/**
 * @param {HTMLElement} preview the `.preview` element (holds the video)
 * @example const g = createFaceGuide(preview); g.face(r.face); g.tone('good'); g.progress(1, 2); g.time(0.4);
 */
export function createFaceGuide(preview) {
  const root = document.createElement('div');
  root.className = 'face-guide';
  root.setAttribute('aria-hidden', 'true');
  const oval = document.createElement('div');
  oval.className = 'oval';
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('class', 'ring');
  // Stretched with the oval while it moves; re-laid out for each new position.
  svg.setAttribute('preserveAspectRatio', 'none');
  const ellipse = (cls) => {
    const e = document.createElementNS(SVG, 'ellipse');
    e.setAttribute('class', cls);
    // Dashes in percent of the circumference, whatever the size.
    e.setAttribute('pathLength', '100');
    svg.append(e);
    return e;
  };
  const track = ellipse('ring-track');
  const done = ellipse('ring-progress');
  const time = ellipse('ring-time');
  root.append(oval, svg);
  preview.querySelector('.oval')?.remove();
  preview.append(root);

  let progress = 0;
  let timeLeft = null;

  /** Sizes the ring for an oval of `ow` × `oh` px (the final size, not the one mid-transition). */
  function layoutRing(ow, oh) {
    const w = ow + 2 * RING_GAP;
    const h = oh + 2 * RING_GAP;
    svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
    for (const [e, inset] of [[track, 3], [done, 3], [time, 9]]) {
      e.setAttribute('cx', String(w / 2));
      e.setAttribute('cy', String(h / 2));
      e.setAttribute('rx', String(Math.max(1, w / 2 - inset)));
      e.setAttribute('ry', String(Math.max(1, h / 2 - inset)));
    }
  }
  // Arcs start at the top and run clockwise (the ellipse's path starts at 3 o'clock).
  const arc = (e, fraction) => {
    const p = Math.max(0, Math.min(1, fraction)) * 100;
    e.setAttribute('stroke-dasharray', `${p} ${100 - p}`);
    e.setAttribute('stroke-dashoffset', '-75');
  };

  return {
    /** Puts the oval around the face (null: no face, back to the middle). */
    face(loc) {
      const view = { width: preview.clientWidth, height: preview.clientHeight };
      if (!loc?.box || !loc.image_width) {
        root.style.cssText = '';
        delete root.dataset.face;
        layoutRing(view.width * 0.46, view.height * 0.72); // the stylesheet's resting place
      } else {
        const o = ovalAround(mapFaceBox(loc, view));
        const pct = (v, of) => `${((v / of) * 100).toFixed(2)}%`;
        root.style.left = pct(o.left, view.width);
        root.style.top = pct(o.top, view.height);
        root.style.width = pct(o.width, view.width);
        root.style.height = pct(o.height, view.height);
        root.dataset.face = 'tracked';
        layoutRing(o.width, o.height);
      }
    },
    /** 'good' (green), 'bad' (orange) or null (neutral). */
    tone(t) {
      root.dataset.tone = t ?? 'neutral';
    },
    /** Progress of the run: `n` of `total` (challenges or frames); total 0 hides the arc. */
    progress(n, total) {
      progress = total > 0 ? n / total : 0;
      root.dataset.progress = total > 0 ? `${n}/${total}` : '';
      arc(done, progress);
      done.style.visibility = total > 0 ? 'visible' : 'hidden';
      track.style.visibility = total > 0 ? 'visible' : 'hidden';
    },
    /** Time left for the current challenge, 0..1, or null when no challenge is running. */
    time(fraction) {
      timeLeft = fraction;
      arc(time, fraction ?? 0);
      time.style.visibility = fraction === null ? 'hidden' : 'visible';
      time.classList.toggle('low', fraction !== null && fraction < 0.3);
    },
    /** Marks which frame answer the guide shows (for tests and support). */
    answered(n) {
      root.dataset.answer = String(n);
    },
    reset() {
      this.face(null);
      this.tone(null);
      this.progress(0, 0);
      this.time(null);
      root.dataset.answer = '0';
    },
    get element() {
      return root;
    },
    get state() {
      return { progress, timeLeft };
    },
  };
}
