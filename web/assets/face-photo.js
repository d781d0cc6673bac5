// The uploaded photo with the face the server used drawn on it (the `face` box of direct enrollment, verify
// and identify, or every box of a MULTIPLE_FACES answer, numbered as face_index takes them). The box is in
// the pixels of the decoded, EXIF-rotated picture, which is how the browser shows the image, so percentages
// of image_width / image_height place it at any display size.
import { el } from './dom.js';
import { t } from './i18n.js';

/**
 * @param {Blob} file the photo that was sent
 * @param {{ box: {x:number,y:number,width:number,height:number}, index?: number }[]} faces
 * @param {{ image_width: number, image_height: number }} size
 * @param {{ caption?: string, chosen?: number }} [opts] chosen: index of the face that was used (drawn strong)
 */
export function facePhoto(file, faces, size, { caption, chosen } = {}) {
  const url = URL.createObjectURL(file);
  const img = el('img', { src: url, alt: t('The photo that was sent') });
  img.addEventListener('load', () => URL.revokeObjectURL(url), { once: true });
  const pct = (v, of) => `${((v / of) * 100).toFixed(2)}%`;
  const boxes = faces.map((f, i) =>
    el(
      'div',
      {
        class: `face-box${chosen === undefined || chosen === (f.index ?? i) ? ' chosen' : ''}`,
        style: `left:${pct(f.box.x, size.image_width)};top:${pct(f.box.y, size.image_height)};width:${pct(f.box.width, size.image_width)};height:${pct(f.box.height, size.image_height)}`,
        dataset: { index: String(f.index ?? i) },
      },
      faces.length > 1 ? el('span', { class: 'face-label', text: String(f.index ?? i) }) : null,
    ),
  );
  return el('figure', { class: 'face-photo' }, el('div', { class: 'face-frame' }, img, ...boxes), caption ? el('figcaption', { text: caption }) : null);
}
