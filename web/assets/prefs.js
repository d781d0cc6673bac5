// Display preferences that outlive the tab (localStorage): high contrast and voice guidance.

const CONTRAST = 'wajah.highContrast';

export const highContrastOn = () => localStorage.getItem(CONTRAST) === '1';

function applyContrast(on) {
  document.documentElement.classList.toggle('high-contrast', on);
}

// Applied as soon as this module loads, before the page's own script renders anything.
applyContrast(highContrastOn());

/** Makes a button a persisted high-contrast toggle (aria-pressed mirrors the state). */
export function bindContrastToggle(button) {
  const sync = () => button.setAttribute('aria-pressed', String(highContrastOn()));
  sync();
  button.addEventListener('click', () => {
    const on = !highContrastOn();
    localStorage.setItem(CONTRAST, on ? '1' : '0');
    applyContrast(on);
    sync();
  });
}

/** A boolean preference kept in localStorage. */
export function flag(name, fallback = false) {
  const key = `wajah.${name}`;
  return {
    get: () => (localStorage.getItem(key) ?? (fallback ? '1' : '0')) === '1',
    set: (on) => localStorage.setItem(key, on ? '1' : '0'),
  };
}
