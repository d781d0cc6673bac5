// Table cells for text that people and their systems supply: names, external ids, e-mail addresses, URLs,
// receiver errors, audit details. Without a space, such a value (a 255-character name) set the width of its
// column: the table scrolled sideways for thousands of pixels, with the actions off screen, and an open user
// or review widened the whole page. Here the text breaks anywhere and is cut after three lines (`.clip` in
// style.css); the title holds the whole value, and a click shows all of it (another click cuts it again).
import { el, bdi } from '/app/assets/dom.js';

/**
 * A cut, expandable value for a table cell: a string (in its own <bdi>, and the title), or child nodes with
 * `title` the plain text they show (each value isolated, `isolate()` of dom.js).
 * @example el('td', { class: 'mono' }, clip(u.external_id))
 * @example el('td', {}, clip([el('strong', {}, bdi(name)), ' ', bdi(id)], `${isolate(name)} ${isolate(id)}`))
 */
export function clip(value, title = Array.isArray(value) ? '' : String(value ?? '')) {
  const children = Array.isArray(value) ? value : [bdi(value)];
  return el('span', { class: 'clip', title: title || null, onclick: toggle }, ...children);
}

function toggle(e) {
  // Selecting part of the text to copy it is not a request to open or close it.
  if (String(window.getSelection?.() ?? '')) return;
  e.currentTarget.classList.toggle('open');
}
