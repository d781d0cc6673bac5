/**
 * Refuses fallback secrets an attacker tries first. The lock-out stops a few guesses at one user; it does
 * not stop "1234" tried once at each of a client's users, so the PINs people choose most (published
 * PIN-frequency studies: Bonneau et al. 2012, Markert et al. 2020) are refused when the secret is set:
 * repeated digits and patterns, digit runs, keypad favourites, years 1900–2099, dates (DDMM, MMDD,
 * DDMMYY, MMDDYY, YYMMDD, DDMMYYYY, MMDDYYYY, YYYYMMDD), and the user's own external id; a password that
 * is a common one or the user's id or name is refused too. The rule is structural, not a list of our
 * test PINs, and proportionate: it refuses about 10 % of the 4-digit PINs and 9 % of the 6-digit ones
 * (fallback-strength.test.ts checks both), so a good PIN is still easy to choose.
 *
 * @example weakSecretReason('pin', '1990', { externalId: 'EMP001', name: 'John' }) // 'a year'
 */
const COMMON_PINS = new Set([
  // Keypad shapes and favourites from the frequency studies that the structural rules below do not cover.
  '1004', '2580', '6969', '0007', '0852', '1357', '2468', '159753', '147258', '258369', '159357', '111222', '696969',
  '102030', '123321', '789456', '456789', '147852', '852456', '142536', '753951', '5683',
]);

const COMMON_PASSWORDS = new Set([
  'password', 'password1', 'password123', 'passw0rd', '12345678', '123456789', '1234567890', '87654321', '11111111', '00000000',
  'qwertyui', 'qwerty123', 'qwertyuiop', 'iloveyou', 'abcdefgh', 'abcd1234', '1q2w3e4r', '1qaz2wsx', 'sunshine', 'princess',
  'football', 'baseball', 'welcome1', 'letmein1', 'admin123', 'changeme', 'trustno1', 'superman', 'asdfghjk', 'katasandi',
]);

/** true when every digit is the one before it plus `step` (mod 10), e.g. 1234, 7890, 4321. */
function isRun(pin: string, step: 1 | -1): boolean {
  for (let i = 1; i < pin.length; i++) if ((Number(pin[i - 1]) + step + 10) % 10 !== Number(pin[i])) return false;
  return true;
}

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** A calendar day (29 February included: birthdays fall on it) from two-digit day and month strings. */
function isDayMonth(dd: string, mm: string): boolean {
  const d = Number(dd);
  const m = Number(mm);
  return m >= 1 && m <= 12 && d >= 1 && d <= DAYS_IN_MONTH[m - 1]!;
}

const isYear4 = (yyyy: string) => /^(19|20)\d\d$/.test(yyyy);

/**
 * Whether `pin` reads as a date in one of the orders people write them: 4 digits DDMM or MMDD; 6 digits
 * DDMMYY, MMDDYY or YYMMDD (any two-digit year); 8 digits DDMMYYYY, MMDDYYYY or YYYYMMDD (years 1900–2099).
 */
export function isDatePin(pin: string): boolean {
  const p = (i: number) => pin.slice(i, i + 2);
  if (pin.length === 4) return isDayMonth(p(0), p(2)) || isDayMonth(p(2), p(0));
  if (pin.length === 6) return isDayMonth(p(0), p(2)) || isDayMonth(p(2), p(0)) || isDayMonth(p(4), p(2));
  if (pin.length === 8) {
    return (isYear4(pin.slice(4)) && (isDayMonth(p(0), p(2)) || isDayMonth(p(2), p(0)))) || (isYear4(pin.slice(0, 4)) && isDayMonth(p(6), p(4)));
  }
  return false;
}

/** Why `secret` is too easy to guess for this user, or null when it is acceptable. Never echoes the secret. */
export function weakSecretReason(type: 'pin' | 'password', secret: string, user: { externalId: string; name: string }): string | null {
  const plain = secret.normalize('NFKC').toLowerCase();
  const id = user.externalId.normalize('NFKC').toLowerCase();
  const name = user.name.normalize('NFKC').toLowerCase().trim();
  if (type === 'pin') {
    if (/^(\d)\1+$/.test(plain)) return 'the same digit repeated';
    if (isRun(plain, 1) || isRun(plain, -1)) return 'a digit run';
    if (/^(\d\d)\1+$/.test(plain) || /^(\d\d\d)\1+$/.test(plain) || /^(?:(\d)\1)+$/.test(plain)) return 'a repeated pattern';
    if (plain.length === 4 && isYear4(plain)) return 'a year';
    if (isDatePin(plain)) return 'a date';
    if (COMMON_PINS.has(plain)) return 'one of the most common PINs';
    if (id && (plain === id || (id.length >= 4 && (plain.includes(id) || id.includes(plain))))) return "the user's id";
    return null;
  }
  if (COMMON_PASSWORDS.has(plain) || /^(.)\1+$/.test(plain)) return 'a common password';
  if (id.length >= 3 && plain.includes(id)) return "the user's id";
  if (name.length >= 3 && (plain === name || plain.replace(/\s+/g, '') === name.replace(/\s+/g, ''))) return "the user's name";
  return null;
}
