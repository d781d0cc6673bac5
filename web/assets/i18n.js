// Indonesian and English for every page. English is the source text: pages are written in English and
// this module translates their static text (text nodes and the placeholder/aria-label/title/alt
// attributes) once at load; strings built by scripts go through t(). The language is the browser's
// by default (id* → Indonesian), switchable, and remembered in localStorage.
import { ID } from './i18n-id.js';

const KEY = 'wajah.lang';
export const LANGS = ['en', 'id'];

/** The current language: the saved choice, else the browser's first language, else English. */
export function currentLang() {
  const saved = localStorage.getItem(KEY);
  if (saved && LANGS.includes(saved)) return saved;
  const first = (navigator.languages?.[0] ?? navigator.language ?? 'en').toLowerCase();
  return first.startsWith('id') || first.startsWith('in') ? 'id' : 'en';
}

export const lang = currentLang();
document.documentElement.lang = lang;

/** English strings that had no Indonesian translation (checked by the browser tests). */
const missing = new Set();
Object.defineProperty(window, '__wajahI18nMissing', { value: missing, configurable: true });

const fill = (s, vars) => (vars ? s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m)) : s);

/**
 * Translates an English string (with {name} placeholders) into the current language.
 * @example t('Page {page} of {pages}', { page: 1, pages: 3 })
 */
export function t(en, vars) {
  if (lang === 'en') return fill(en, vars);
  const tr = ID[en];
  if (tr === undefined) {
    missing.add(en);
    return fill(en, vars);
  }
  return fill(tr, vars);
}

/** Singular/plural English forms; Indonesian does not inflect, so the `one` form's translation is used for both when no plural entry exists. */
export const tn = (n, one, many, vars = {}) => t(n === 1 ? one : many, { n, ...vars });

const SKIP = 'script, style, code, pre, .mono, [translate="no"]';
const ATTRS = ['placeholder', 'aria-label', 'title', 'alt'];
const hasWords = (s) => /\p{L}{2,}/u.test(s);

/** Translates the static text under `root` (run once per page, before scripts add data). */
export function translatePage(root = document.body) {
  document.title = t(document.title);
  if (lang === 'en') return;
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT | NodeFilter.SHOW_ELEMENT);
  for (let n = walker.currentNode; n; n = walker.nextNode()) {
    if (n.nodeType === Node.ELEMENT_NODE) {
      for (const a of ATTRS) {
        const v = n.getAttribute(a);
        if (v && hasWords(v) && !n.closest(SKIP)) n.setAttribute(a, t(v.trim()));
      }
      continue;
    }
    const text = n.nodeValue ?? '';
    const core = text.trim();
    if (!core || !hasWords(core) || n.parentElement?.closest(SKIP)) continue;
    n.nodeValue = text.replace(core, t(core.replace(/\s+/g, ' ')));
  }
}

/** Makes `button` switch between the languages (the page reloads so that every string is rebuilt). */
export function bindLangToggle(button) {
  const other = lang === 'id' ? 'en' : 'id';
  button.textContent = other === 'id' ? 'Bahasa Indonesia' : 'English';
  button.lang = other;
  button.setAttribute('aria-label', other === 'id' ? 'Ganti bahasa ke Bahasa Indonesia' : 'Switch the language to English');
  button.addEventListener('click', () => {
    localStorage.setItem(KEY, other);
    location.reload();
  });
}

/** Locale for numbers and dates. */
export const locale = lang === 'id' ? 'id-ID' : 'en-GB';
/** BCP 47 tag for speech synthesis. */
export const speechLang = lang === 'id' ? 'id-ID' : 'en-US';
