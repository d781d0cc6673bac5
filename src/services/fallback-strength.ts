/**
 * Refuses fallback secrets an attacker tries first. The lock-out stops five guesses at one user; it does
 * not stop "1234" tried once at each of a client's users, so the PINs most people choose (repeated
 * digits, runs like 1234 or 4321, keypad and date-like favourites), the user's own external id, and a
 * password that is a common one or the user's id or name are refused when the secret is set.
 *
 * @example weakSecretReason('pin', '1234', { externalId: 'EMP001', name: 'John' }) // 'a digit run'
 */
const COMMON_PINS = new Set([
  '1212', '1004', '2000', '2580', '6969', '1122', '1313', '4444', '2001', '1010', '2222', '7777', '1111', '5555', '0007', '1984',
  '2020', '2021', '2022', '2023', '2024', '2025', '2026', '0852', '1357', '2468', '112233', '121212', '123123', '159753', '147258',
  '258369', '159357', '111222', '696969', '102030', '131313', '123321', '000000', '999999', '789456', '456789', '147852', '852456',
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

/** Why `secret` is too easy to guess for this user, or null when it is acceptable. Never echoes the secret. */
export function weakSecretReason(type: 'pin' | 'password', secret: string, user: { externalId: string; name: string }): string | null {
  const plain = secret.normalize('NFKC').toLowerCase();
  const id = user.externalId.normalize('NFKC').toLowerCase();
  const name = user.name.normalize('NFKC').toLowerCase().trim();
  if (type === 'pin') {
    if (/^(\d)\1+$/.test(plain)) return 'the same digit repeated';
    if (isRun(plain, 1) || isRun(plain, -1)) return 'a digit run';
    if (/^(\d\d)\1+$/.test(plain) || /^(\d\d\d)\1+$/.test(plain)) return 'a repeated pattern';
    if (COMMON_PINS.has(plain)) return 'one of the most common PINs';
    if (id && (plain === id || (id.length >= 4 && (plain.includes(id) || id.includes(plain))))) return "the user's id";
    return null;
  }
  if (COMMON_PASSWORDS.has(plain) || /^(.)\1+$/.test(plain)) return 'a common password';
  if (id.length >= 3 && plain.includes(id)) return "the user's id";
  if (name.length >= 3 && (plain === name || plain.replace(/\s+/g, '') === name.replace(/\s+/g, ''))) return "the user's name";
  return null;
}
