// Credentials live in sessionStorage only: they vanish when the tab closes and are shared by the
// console and the camera page of the same tab.

const CREDS = 'wajah.credentials';
const ADMIN = 'wajah.adminToken';

/** @returns {{apiKey: string, secretKey: string} | null} */
export function loadCredentials() {
  try {
    const v = JSON.parse(sessionStorage.getItem(CREDS) ?? 'null');
    return v && typeof v.apiKey === 'string' && typeof v.secretKey === 'string' ? v : null;
  } catch {
    return null;
  }
}

export function saveCredentials(apiKey, secretKey) {
  sessionStorage.setItem(CREDS, JSON.stringify({ apiKey, secretKey }));
}

export function clearCredentials() {
  sessionStorage.removeItem(CREDS);
}

export const loadAdminToken = () => sessionStorage.getItem(ADMIN);
export const saveAdminToken = (t) => sessionStorage.setItem(ADMIN, t);
export const clearAdminToken = () => sessionStorage.removeItem(ADMIN);
