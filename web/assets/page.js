// Set-up shared by every page, run before the page's own script renders anything: the static text in
// the chosen language, the language switch (#lang-toggle) and the high-contrast switch (#contrast-toggle).
import { translatePage, bindLangToggle } from './i18n.js';
import { bindContrastToggle } from './prefs.js';

translatePage();
const langButton = document.querySelector('#lang-toggle');
if (langButton) bindLangToggle(langButton);
const contrastButton = document.querySelector('#contrast-toggle');
if (contrastButton) bindContrastToggle(contrastButton);

// On a phone, tables become one card per row (style.css); each cell is labelled with its column's
// heading (data-label), kept up to date as scripts fill the tables.
function labelCells(table) {
  const heads = [...table.querySelectorAll('thead th')].map((th) => th.textContent.trim());
  for (const row of table.tBodies[0]?.rows ?? []) [...row.cells].forEach((td, i) => heads[i] && td.colSpan === 1 && (td.dataset.label = heads[i]));
}
for (const table of document.querySelectorAll('table')) {
  labelCells(table);
  if (table.tBodies[0]) new MutationObserver(() => labelCells(table)).observe(table.tBodies[0], { childList: true });
}
