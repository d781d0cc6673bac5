// Tiny DOM helpers: build elements without innerHTML (no injection from API data).

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

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

/** Shows an error (ApiError or any Error) as "CODE: message" in an alert box; clears it when err is null. */
export function showError(box, err) {
  box.replaceChildren();
  box.hidden = !err;
  if (!err) return;
  const code = err.code ?? 'ERROR';
  box.append(el('strong', { class: 'error-code', text: code }), ' ', el('span', { text: err.message ?? String(err) }));
}

/** Shows a success/info note in a status box. */
export function showNote(box, text) {
  box.replaceChildren(text);
  box.hidden = !text;
}

export function fmtDate(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
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
