/**
 * A deliberately small User-Agent classifier (no dependency): the browser family, the OS family and
 * the device type, enough for a distribution chart. Rules are checked in order; the first match wins.
 * Browsers that embed another engine's token come first (Edge and Opera say "Chrome", Chrome says
 * "Safari"). API clients without a browser (curl, SDKs, HTTP libraries) are device type "api_client".
 *
 * @example parseUserAgent('Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) … Version/17.0 Mobile/15E148 Safari/604.1')
 *   // → { browser: 'Safari', os: 'iOS', device: 'mobile' }
 */
export interface UserAgentInfo {
  browser: string;
  os: string;
  device: 'desktop' | 'mobile' | 'tablet' | 'bot' | 'api_client' | 'unknown';
}

const BROWSERS: Array<[RegExp, string]> = [
  [/bot|crawler|spider|slurp/i, 'Bot'],
  [/Edg(?:e|A|iOS)?\//, 'Edge'],
  [/OPR\/|Opera/, 'Opera'],
  [/SamsungBrowser\//, 'Samsung Internet'],
  [/YaBrowser\//, 'Yandex'],
  [/UCBrowser\//, 'UC Browser'],
  [/Firefox\/|FxiOS\//, 'Firefox'],
  [/CriOS\/|Chrome\/|Chromium\//, 'Chrome'],
  [/MSIE |Trident\//, 'Internet Explorer'],
  [/Version\/[\d.]+.*Safari\/|Mobile\/\w+ Safari|AppleWebKit\/.*Mobile\//, 'Safari'],
  [/^curl\//i, 'curl'],
  [/^Wget\//i, 'Wget'],
  [/okhttp/i, 'OkHttp'],
  [/python-requests|aiohttp|httpx|urllib/i, 'Python'],
  [/axios|node-fetch|undici|^node\b/i, 'Node.js'],
  [/Dart\//, 'Dart'],
  [/^Java\/|Apache-HttpClient/i, 'Java'],
  [/^Go-http-client/i, 'Go'],
  [/PostmanRuntime/i, 'Postman'],
];

const SYSTEMS: Array<[RegExp, string]> = [
  [/iPhone|iPad|iPod|iOS/, 'iOS'],
  [/Android/, 'Android'],
  [/CrOS/, 'ChromeOS'],
  [/Windows/, 'Windows'],
  [/Mac OS X|Macintosh/, 'macOS'],
  [/Linux|X11/, 'Linux'],
];

const API_CLIENTS = new Set(['curl', 'Wget', 'OkHttp', 'Python', 'Node.js', 'Dart', 'Java', 'Go', 'Postman']);

/**
 * Only the leading part of a string is classified (real agents say what they are within ~300 characters): the
 * rules backtrack quadratically on crafted input (`Version/` and 16 KB of digits took 0.1 s), and a
 * user-behavior report parses up to 1000 stored strings on the event loop all tenants share.
 */
export const USER_AGENT_CLASSIFIED_CHARS = 512;

export function parseUserAgent(ua: string | null | undefined): UserAgentInfo {
  const s = (ua ?? '').slice(0, USER_AGENT_CLASSIFIED_CHARS).trim();
  if (!s) return { browser: 'Unknown', os: 'Unknown', device: 'unknown' };
  const browser = BROWSERS.find(([re]) => re.test(s))?.[1] ?? 'Other';
  const os = SYSTEMS.find(([re]) => re.test(s))?.[1] ?? 'Other';
  let device: UserAgentInfo['device'];
  if (browser === 'Bot') device = 'bot';
  else if (/iPad|Tablet|PlayBook|Silk\//.test(s) || (/Android/.test(s) && !/Mobile/.test(s))) device = 'tablet';
  else if (/Mobi|iPhone|iPod|Android.*Mobile|Windows Phone/.test(s)) device = 'mobile';
  else if (API_CLIENTS.has(browser) && os === 'Other') device = 'api_client';
  else if (os === 'Windows' || os === 'macOS' || os === 'Linux' || os === 'ChromeOS') device = 'desktop';
  else device = 'unknown';
  return { browser, os, device };
}
