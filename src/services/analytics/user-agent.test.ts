import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseUserAgent } from './user-agent.ts';

test('classifies common user agents', () => {
  const cases: Array<[string | null, string, string, string]> = [
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36', 'Chrome', 'Windows', 'desktop'],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0', 'Edge', 'Windows', 'desktop'],
    ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15', 'Safari', 'macOS', 'desktop'],
    ['Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0', 'Firefox', 'Linux', 'desktop'],
    ['Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36', 'Chrome', 'Android', 'mobile'],
    ['Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Safari/537.36', 'Samsung Internet', 'Android', 'tablet'],
    ['Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0 Mobile/15E148 Safari/604.1', 'Chrome', 'iOS', 'tablet'],
    ['Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)', 'Bot', 'Other', 'bot'],
    ['okhttp/4.12.0', 'OkHttp', 'Other', 'api_client'],
    ['python-requests/2.31.0', 'Python', 'Other', 'api_client'],
    [null, 'Unknown', 'Unknown', 'unknown'],
  ];
  for (const [ua, browser, os, device] of cases) assert.deepEqual(parseUserAgent(ua), { browser, os, device }, String(ua));
});

test('a long crafted user agent is classified in bounded time (the report parses up to 1000 of them on the event loop)', () => {
  // Quadratic backtracking in /Version\/[\d.]+.*Safari\// took ~0.1 s per 16 KB header and ~2 s per 64 KB one,
  // times the 1000 strings of one user-behavior report, blocking every tenant's requests.
  const crafted = 'Version/' + '1'.repeat(64_000);
  const started = performance.now();
  for (let i = 0; i < 10; i++) parseUserAgent(crafted);
  assert.ok(performance.now() - started < 200, `${(performance.now() - started).toFixed(0)} ms`);
  // Classification reads the leading part, where every real agent says what it is.
  assert.deepEqual(parseUserAgent('Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 ' + 'x'.repeat(5000)).os, 'iOS');
});
