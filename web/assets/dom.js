// Tiny DOM helpers: build elements without innerHTML (no injection from API data).
import { explain } from './messages.js';
import { locale, t } from './i18n.js';

/**
 * @param {string} tag
 * @param {Record<string, unknown>} [attrs] `class`, `text`, `on<event>`, `dataset`, booleans, or attributes
 * @param {...(Node|string|null|undefined|false)} children
 * @example el('button', { class: 'small', onclick: go }, 'Go')
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = String(v);
    else if (k === 'text') node.textContent = String(v);
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else if (v === true) node.setAttribute(k, '');
    else node.setAttribute(k, String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) node.append(c);
  return node;
}

/**
 * A value from the data (a person's name, an external id) as its own bidirectional run: Unicode direction
 * controls in it (U+202E RIGHT-TO-LEFT OVERRIDE, …) then cannot reorder the text beside it, as an unclosed
 * override in a name made "Mallory (EMP0042)" read "Mallory (2400PME)". The text itself is unchanged.
 */
export const bdi = (v) => el('bdi', { text: String(v ?? '') });

/** The same isolation in a plain string (a confirm dialog): FSI … PDI around the value. */
export const isolate = (v) => `\u2068${v ?? ''}\u2069`;

/**
 * t(en, vars) as child nodes, each value in its own `<bdi>` (a Node value is used as it is): for text that
 * puts data next to other words.
 * @example title.replaceChildren(...tNodes('Review of {name}', { name: user.name }))
 */
export function tNodes(en, vars) {
  return t(en)
    .split(/\{(\w+)\}/)
    .map((part, i) => (i % 2 === 0 ? part : !(part in vars) ? `{${part}}` : vars[part] instanceof Node ? vars[part] : bdi(vars[part])))
    .filter((x) => x !== '');
}

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

/**
 * Shows an error (ApiError or any Error with a `code`) in plain words from the message table, with
 * what to do next; clears the box when err is null. The code is kept in `data-code` and, where
 * `showCode` (the console, for support), as a small reference; the camera and sign-in pages hide it.
 * `onNext` turns the next step into a button ("Try again", "Use PIN", …), for the steps in `nexts` (all when absent).
 * @example showError(box, e, { showCode: false, onNext: () => start() })
 */
export function showError(box, err, { showCode = true, onNext, nexts } = {}) {
  box.replaceChildren();
  box.hidden = !err;
  if (!err) {
    delete box.dataset.code;
    return;
  }
  const x = explain(err);
  box.dataset.code = x.code;
  const field = err.details?.field;
  const parts = [
    el('strong', { class: 'msg', text: x.text }),
    ' ',
    el('span', { class: 'help', text: field ? `${x.help} (${field})` : x.help }),
    onNext && x.nextLabel && (!nexts || nexts.includes(x.next)) ? el('div', {}, el('button', { type: 'button', class: 'small next-step', dataset: { next: x.next }, onclick: () => onNext(x.next) }, x.nextLabel)) : null,
    showCode ? el('small', { class: 'error-code', translate: 'no', text: x.code }) : null,
  ];
  box.append(...parts.filter(Boolean));
}

/** Shows a success/info note in a status box. */
export function showNote(box, text) {
  box.replaceChildren(text);
  box.hidden = !text;
}

export function fmtDate(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString(locale);
}

export const pct = (x) => (typeof x === 'number' ? `${Math.round(x * 100)} %` : '—');

/** Reads a form's fields into a plain object of trimmed strings (files excluded). */
export function formValues(form) {
  const out = {};
  for (const [k, v] of new FormData(form)) if (typeof v === 'string') out[k] = v.trim();
  return out;
}

/** Runs an async action with the submit button disabled and errors shown in `errBox`. */
export async function busy(button, errBox, fn) {
  if (errBox) showError(errBox, null);
  if (button) button.disabled = true;
  try {
    return await fn();
  } catch (e) {
    if (errBox) showError(errBox, e);
    else throw e;
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}

/**
 * A list's pager: the #<prefix>-prev and #<prefix>-next buttons move `state.page` within
 * 1..state.totalPages and call `load`.
 */
export function wirePager(prefix, state, load) {
  $(`#${prefix}-prev`).addEventListener('click', () => {
    state.page = Math.max(1, state.page - 1);
    void load();
  });
  $(`#${prefix}-next`).addEventListener('click', () => {
    state.page = Math.min(state.totalPages, state.page + 1);
    void load();
  });
}

/** After a page answer `p`: keeps its page count in `state` and shows "Page x of y · <count>" and the buttons. */
export function showPage(prefix, state, p, count) {
  state.totalPages = Math.max(1, p.total_pages);
  $(`#${prefix}-page`).textContent = `${t('Page {page} of {pages}', { page: p.page, pages: state.totalPages })} · ${count}`;
  $(`#${prefix}-prev`).disabled = state.page <= 1;
  $(`#${prefix}-next`).disabled = state.page >= state.totalPages;
}

