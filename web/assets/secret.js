// Secrets shown once (webhook signing secrets, new API secrets): each value gets a Copy button, and
// every shown secret is removed from the page as soon as the user moves on (another tab, another
// client, sign-out, leaving the page), so it does not linger on screen.
import { el } from './dom.js';
import { t } from './i18n.js';

const shown = new Set();

/** Copies text to the clipboard; falls back to a selected textarea where the Clipboard API is missing. */
export async function copyText(text) {
  if (navigator.clipboard?.writeText) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      /* fall through: permission refused */
    }
  }
  const ta = el('textarea', { class: 'visually-hidden', 'aria-hidden': 'true' });
  ta.value = text;
  document.body.append(ta);
  ta.select();
  const ok = document.execCommand('copy');
  ta.remove();
  return ok;
}

/** A value with a Copy button; `field` becomes data-field on the value. */
export function secretValue(value, { field, label } = {}) {
  const status = el('span', { class: 'copy-status muted', role: 'status' });
  const button = el('button', { type: 'button', class: 'small secondary copy', 'aria-label': t('Copy {what}', { what: label ?? t('secret') }) }, t('Copy'));
  button.addEventListener('click', () =>
    void copyText(value).then((ok) => {
      status.textContent = ok ? t('Copied.') : t('Select the text and copy it by hand.');
    }),
  );
  return el('span', { class: 'secret-value' }, el('code', { class: 'mono secret', 'data-field': field, text: value }), button, status);
}

/** Shows `content` (built with secretValue) in `box` until clearSecrets() runs. */
export function showSecretBox(box, ...content) {
  box.replaceChildren(...content);
  box.hidden = false;
  box.dataset.secret = 'shown';
  shown.add(box);
}

/** Removes every secret shown on the page. */
export function clearSecrets() {
  for (const box of shown) {
    box.replaceChildren();
    box.hidden = true;
    delete box.dataset.secret;
  }
  shown.clear();
}

// Leaving the page (or the browser keeping it in its back/forward cache) drops the secrets too.
window.addEventListener('pagehide', clearSecrets);
