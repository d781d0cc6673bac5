import { appError } from '../errors.ts';

/**
 * Checks every string and the nesting of request input before any service sees it, so text that
 * PostgreSQL cannot store (NUL, lone UTF-16 surrogates) or that no honest client sends (other
 * control characters) is a coded 400 instead of a database error. docs/errors.md ("Input rules").
 *
 * @example assertCleanInput(request.body, 'body'); // throws VALIDATION_ERROR naming body.metadata.k
 */
export const MAX_INPUT_DEPTH = 32;

/** C0 controls except tab, line feed and carriage return, plus DEL. */
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
/** In ids, paths and query strings not even tab or line breaks are allowed. */
const CONTROL_STRICT = /[\u0000-\u001f\u007f]/;
/** PostgreSQL's jsonb refuses "\ud800"; text columns would store U+FFFD instead of what was sent. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export function assertCleanInput(value: unknown, location: string, strict = false): void {
  walk(value, location, [], 0, strict ? CONTROL_STRICT : CONTROL);
}

function walk(value: unknown, location: string, path: string[], depth: number, control: RegExp): void {
  // 1e309 in JSON, or "1e309" / "Infinity" in a query string (which the validator coerces), is not a
  // number any field takes: it would pass `integer` checks and reach SQL as Infinity.
  if ((typeof value === 'number' && !Number.isFinite(value)) || (location === 'query' && typeof value === 'string' && value.trim() !== '' && Math.abs(Number(value)) === Infinity)) {
    throw appError('VALIDATION_ERROR', `${describe(location, path)} must be a finite number`, { field: path.join('.') || null, location });
  }
  if (typeof value === 'string') return checkString(value, location, path, control);
  if (value === null || typeof value !== 'object') return;
  if (depth >= MAX_INPUT_DEPTH) {
    throw appError('VALIDATION_ERROR', `${describe(location, path)} nests deeper than ${MAX_INPUT_DEPTH} levels`, {
      field: path.join('.') || null,
      location,
      max_depth: MAX_INPUT_DEPTH,
    });
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) walk(value[i], location, [...path, String(i)], depth + 1, control);
    return;
  }
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    checkString(key, location, path, control, 'a key');
    walk(item, location, [...path, key], depth + 1, control);
  }
}

function checkString(s: string, location: string, path: string[], control: RegExp, what = 'the value'): void {
  const bad = control.exec(s);
  if (bad) {
    const code = `U+${bad[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
    throw appError('VALIDATION_ERROR', `${describe(location, path)}: ${what} contains the control character ${code}`, {
      field: path.join('.') || null,
      location,
      character: code,
    });
  }
  if (LONE_SURROGATE.test(s)) {
    throw appError('VALIDATION_ERROR', `${describe(location, path)}: ${what} is not valid Unicode (a lone surrogate)`, {
      field: path.join('.') || null,
      location,
    });
  }
}

function describe(location: string, path: string[]): string {
  return path.length ? `${location}.${path.map(safe).join('.')}` : location;
}

/** Keys are echoed in the message: never echo the bad characters themselves. */
function safe(key: string): string {
  return key.replace(/[\u0000-\u001f\u007f]/g, '?').slice(0, 64);
}
