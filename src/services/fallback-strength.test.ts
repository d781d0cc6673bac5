import assert from 'node:assert/strict';
import { test } from 'node:test';
import { weakSecretReason } from './fallback-strength.ts';

const user = { externalId: 'EMP001', name: 'John Doe' };
const weak = (pin: string) => weakSecretReason('pin', pin, user);

// The PINs attackers try first after the runs and repeats are years and dates (birthdays, anniversaries):
// only 1984 and 2000–2026 were refused, so 1990, 1975, 0815 or 250390 were accepted.
test('every year 1900–2099 and the dates people write are refused', () => {
  for (let y = 1900; y <= 2099; y++) assert.ok(weak(String(y)), `${y}`);
  const dates: Array<[string, string]> = [
    ['1508', 'a date'], // DDMM
    ['0815', 'a date'], // MMDD
    ['2902', 'a date'], // 29 February
    ['250390', 'a date'], // DDMMYY
    ['031590', 'a date'], // MMDDYY
    ['900315', 'a date'], // YYMMDD
    ['15081990', 'a date'], // DDMMYYYY
    ['08152001', 'a date'], // MMDDYYYY
    ['19900815', 'a date'], // YYYYMMDD
    ['1990', 'a year'],
    ['1122', 'a repeated pattern'],
  ];
  for (const [pin, reason] of dates) assert.equal(weak(pin), reason, pin);
});

test('not a date: impossible days and months, and other lengths', () => {
  for (const pin of ['3231', '3102', '4821', '3915', '9731', '1332', '73915', '583920', '482193', '58203917', '31311990', '20991332']) {
    assert.equal(weak(pin), null, pin);
  }
});

// Proportionate: a 4–6 digit PIN stays easy to choose. The share refused follows from the rule (200 years,
// ≈ 590 day-month pairs, repeats, runs, pairs) and is checked here so a change that refuses much more shows.
test('the rule refuses about a tenth of 4-digit and 6-digit PINs, not more', () => {
  for (const [digits, atMost] of [[4, 0.11], [5, 0.01], [6, 0.1]] as const) {
    let refused = 0;
    const total = 10 ** digits;
    for (let i = 0; i < total; i++) if (weak(String(i).padStart(digits, '0'))) refused++;
    assert.ok(refused / total <= atMost, `${digits} digits: ${((refused / total) * 100).toFixed(1)} % refused`);
    if (digits === 4) assert.ok(refused / total >= 0.08, 'the years and dates are in it');
  }
});
