import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { serverOpenApiDocument } from '../../scripts/sdk-types.ts';

/**
 * The PHP and Java clients against the server's OpenAPI document (generated from the route schemas, the
 * one source of truth; the JS client's types are generated from it and the Python client's TypedDicts are
 * checked by python-types.test.ts). These two clients keep their shapes by hand, so this reads their
 * sources and checks what they promise:
 *   - every endpoint they call exists with that method;
 *   - every field they send (PHP `array{…}` option shapes and literal keys, Java `Params.of` keys) is one
 *     the operation takes (a body property or a query parameter);
 *   - every answer field a Java record reads exists in the operation's answer, and the accessors that throw
 *     on a missing or null value (`string`, `number`, `bool`, `object`, …) only read fields the document
 *     marks required and not nullable; PHP `@return array{…}` shapes name only fields of the answer.
 * No JVM or PHP is needed: the sources are read as text.
 */

const SDK = path.resolve(import.meta.dirname, '../../sdk');
const JAVA_DIR = path.join(SDK, 'java/src/main/java/id/wajah/sdk');
const PHP_DIR = path.join(SDK, 'php/src');

type Schema = { type?: string | string[]; nullable?: boolean; properties?: Record<string, Schema>; required?: string[]; items?: Schema; anyOf?: Schema[]; oneOf?: Schema[] };
interface Operation {
  parameters?: Array<{ in: string; name: string }>;
  requestBody?: { content: Record<string, { schema: Schema }> };
  responses: Record<string, { content?: Record<string, { schema: Schema }> }>;
}
type Doc = { paths: Record<string, Record<string, Operation>> };

/** A call of the API found in a client's source. */
interface Call {
  file: string;
  method: string;
  /** The client's path with each computed segment as `{}`, e.g. `/clients/users/{}/activate/`. */
  path: string;
  /** Fields the call sends (option shapes and literal keys). */
  sends: string[];
  /** The Java record the answer is read into, or the PHP `@return array{…}` keys. */
  record?: string;
  returns?: string[];
}

const members = (s: Schema): Schema[] => (s.anyOf ?? s.oneOf ?? [s]).flatMap((m) => (m.anyOf || m.oneOf ? members(m) : [m]));
const isNullable = (s: Schema): boolean => s.nullable === true || members(s).some((m) => m.type === 'null' || m.nullable === true || (Array.isArray(m.type) && m.type.includes('null')));
/** The object members of a schema (a union's object members merged): each key, and whether every member requires it. */
function objectFields(s: Schema): Map<string, { schema: Schema; required: boolean }> {
  const objects = members(s).filter((m) => m.properties);
  const out = new Map<string, { schema: Schema; required: boolean }>();
  for (const o of objects) {
    for (const [k, v] of Object.entries(o.properties!)) {
      const required = objects.every((m) => m.required?.includes(k) && m.properties?.[k]);
      out.set(k, { schema: out.get(k)?.schema ?? v, required });
    }
  }
  return out;
}

function operation(doc: Doc, method: string, clientPath: string): Operation {
  const want = `/api/v1${clientPath}`;
  const found = Object.keys(doc.paths).find((p) => p.replace(/\{[^}]+\}/g, '{}') === want);
  assert.ok(found, `${method} ${clientPath}: no such path in the OpenAPI document`);
  const op = doc.paths[found][method.toLowerCase()];
  assert.ok(op, `${method} ${clientPath}: the document has ${found} without ${method}`);
  return op;
}

/** Every field an operation takes: query parameters, body properties (any content type), and the properties of an `options` object field. */
function accepted(op: Operation): Set<string> {
  const keys = new Set((op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name));
  for (const { schema } of Object.values(op.requestBody?.content ?? {})) {
    for (const [k, v] of objectFields(schema)) {
      keys.add(k);
      if (k === 'options') for (const nested of objectFields(v.schema).keys()) keys.add(nested);
    }
  }
  return keys;
}

function answer(op: Operation): Schema {
  const status = Object.keys(op.responses).find((s) => /^2\d\d$/.test(s) && op.responses[s].content?.['application/json']);
  assert.ok(status, 'the operation has no JSON success answer');
  return op.responses[status].content!['application/json'].schema;
}

/** Splits `text` at `sep` outside strings, parentheses, brackets and braces. */
function splitTop(text: string, sep: string): string[] {
  const out: string[] = [];
  let depth = 0, quote = '', start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c)) depth--;
    else if (depth === 0 && text.startsWith(sep, i)) {
      out.push(text.slice(start, i));
      start = i + sep.length;
    }
  }
  out.push(text.slice(start));
  return out.map((s) => s.trim());
}

/** The arguments of the call whose `(` is at `open`. */
function argsAt(text: string, open: number): string[] {
  let depth = 0, quote = '';
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return splitTop(text.slice(open + 1, i), ',');
  }
  throw new Error(`unbalanced call at ${text.slice(open, open + 60)}`);
}

/** A path expression (`"/a/" + seg(x) + "/"` or `'/a/' . seg($x) . '/'`) with computed parts as `{}`; null for a variable path. */
function pathOf(expr: string, concat: string, helpers: Record<string, string> = {}): string | null {
  const parts = splitTop(expr, concat).map((p) => {
    const lit = /^["']([^"']*)["']$/.exec(p);
    if (lit) return lit[1];
    const helper = /^(\w+)\(/.exec(p)?.[1];
    return helper && helpers[helper] ? helpers[helper] : '{}';
  });
  return parts.some((p) => p.startsWith('/')) ? parts.join('').replace(/\{\}\{\}/g, '{}') : null;
}

/** The methods of a class body: name and text (from its declaration to the next one). */
function methodsOf(source: string, declaration: RegExp): Array<{ name: string; doc: string; body: string }> {
  const found = [...source.matchAll(declaration)];
  return found.map((m, i) => {
    const end = i + 1 < found.length ? found[i + 1].index : source.length;
    const before = source.slice(i ? found[i - 1].index : 0, m.index);
    const doc = /\/\*\*(?:(?!\*\/)[\s\S])*\*\/\s*$/.exec(before)?.[0] ?? '';
    return { name: m[1], doc, body: source.slice(m.index, end) };
  });
}

/** Top-level keys of a PHP array shape `array{a?: int, b: array{…}}`. */
function shapeKeys(shape: string): string[] {
  return splitTop(shape, ',')
    .map((entry) => /^'?(\w+)'?\??\s*:/.exec(entry)?.[1])
    .filter((k): k is string => !!k && !/^\d+$/.test(k));
}

/** The `array{…}` shapes of a docblock's `@param … $name` and `@return` tags. */
function docShapes(doc: string): { params: Record<string, string[]>; returns: string[] | null } {
  const params: Record<string, string[]> = {};
  let returns: string[] | null = null;
  for (const m of doc.matchAll(/@(param|return)\s+(array\{)/g)) {
    const open = m.index + m[0].length - 1;
    let depth = 0, end = open;
    for (; end < doc.length; end++) {
      if (doc[end] === '{') depth++;
      else if (doc[end] === '}' && --depth === 0) break;
    }
    const keys = shapeKeys(doc.slice(open + 1, end));
    if (m[1] === 'return') returns = keys;
    else {
      const name = /^(?:\|null)?\s+\$(\w+)/.exec(doc.slice(end + 1))?.[1];
      if (name) params[name] = keys;
    }
  }
  return { params, returns };
}

function javaCalls(): { calls: Call[]; records: Record<string, string> } {
  const calls: Call[] = [];
  const records: Record<string, string> = {};
  for (const file of fs.readdirSync(JAVA_DIR).filter((f) => f.endsWith('.java'))) {
    const source = fs.readFileSync(path.join(JAVA_DIR, file), 'utf8');
    if (/static (?:<\w+> )?\w+(?:<\w+>)? of\(Object parsed/.test(source)) records[file.replace('.java', '')] = source;
    // Helpers that compute a path (`String endpoint(String id) { return "/webhooks/endpoints/" + … + "/"; }`).
    const helpers: Record<string, string> = {};
    for (const h of source.matchAll(/String (\w+)\(String \w+\)\s*\{\s*return ([^;]+);/g)) {
      const p = pathOf(h[2], '+');
      if (p) helpers[h[1]] = p;
    }
    // What a one-shot helper (`oneShot(String path, …)`) reads its answer into.
    const oneShotRecord = /AuthDecision oneShot\(/.test(source) ? 'AuthDecision' : undefined;
    for (const m of methodsOf(source, /\n {4}(?:public|private) [\w<>, ?]+ (\w+)\([^)]*\)\s*(?:throws \w+\s*)?\{/g)) {
      const sends = new Set<string>();
      for (const p of m.body.matchAll(/Params\.(of|files)\(/g)) {
        const args = argsAt(m.body, p.index + p[0].length - 1);
        const pairs = p[1] === 'of' ? args.slice(1) : args;
        for (let i = 0; i < pairs.length; i += 2) {
          const key = /^"(\w+)"$/.exec(pairs[i])?.[1];
          if (key) sends.add(key);
        }
      }
      for (const p of m.body.matchAll(/(?:body|fields)\.put\("(\w+)"/g)) sends.add(p[1]);
      for (const r of m.body.matchAll(/(?:(\w+)\.of\()?http\.request\(/g)) {
        const args = argsAt(m.body, r.index + r[0].length - 1);
        const p = pathOf(args[1], '+', helpers);
        if (!p) continue; // the one-shot helper's own `path` parameter: its callers are checked below
        calls.push({ file, method: JSON.parse(args[0]), path: p, sends: [...sends], record: r[1] === 'JsonObject' ? undefined : r[1] });
      }
      for (const o of m.body.matchAll(/oneShot\("([^"]+)"/g)) calls.push({ file, method: 'POST', path: o[1], sends: [...sends, 'image'], record: oneShotRecord });
    }
  }
  return { calls, records };
}

function phpCalls(): Call[] {
  const calls: Call[] = [];
  for (const file of fs.readdirSync(PHP_DIR).filter((f) => f.endsWith('.php'))) {
    const source = fs.readFileSync(path.join(PHP_DIR, file), 'utf8');
    for (const m of methodsOf(source, /\n {4}(?:public|private) function (\w+)\(/g)) {
      const { params, returns } = docShapes(m.doc);
      const signature = /\(([^)]*)\)/.exec(m.body)?.[1] ?? '';
      const sends = new Set<string>();
      // Option shapes of the method's array parameters that it sends (`$options`, `$query`, `$changes`, `$period`).
      for (const [name, keys] of Object.entries(params)) if (signature.includes(`$${name}`) && name !== 'items') for (const k of keys) sends.add(k);
      for (const r of m.body.matchAll(/->(request|oneShot)\(/g)) {
        const args = argsAt(m.body, r.index + r[0].length - 1);
        for (const a of args) for (const k of a.matchAll(/'(\w+)'\s*=>/g)) sends.add(k[1]);
        const [method, p] = r[1] === 'oneShot' ? ['POST', pathOf(args[0], '.')] : [/^'(\w+)'$/.exec(args[0])?.[1], pathOf(args[1], '.')];
        if (!method || !p) continue; // a variable method or path (Client::request, oneShot's own body)
        calls.push({ file, method, path: p, sends: r[1] === 'oneShot' ? [...sends, 'image'] : [...sends], returns: returns ?? undefined });
      }
    }
  }
  return calls;
}

/** The record a Java record reads nested objects into, per key: `result` → AuthResult, `matches[]` → Match. */
function nestedRecords(source: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of source.matchAll(/o\.(?:optObject|object)\("(\w+)"\)[^;]*?(\w+)\.of\(/g)) out[m[1]] = m[2];
  for (const m of source.matchAll(/o\.(?:array|objects)\("(\w+)"\)\.stream\(\)\.map\((\w+)::of\)/g)) out[`${m[1]}[]`] = m[2];
  return out;
}

/** Checks a Java record's reads against `schema`; `item` is the record of a Page's results. */
function checkRecord(records: Record<string, string>, name: string, schema: Schema, where: string, item?: string): void {
  const source = records[name];
  assert.ok(source, `${where}: no record ${name}`);
  const fields = objectFields(schema);
  const ofBody = source.slice(source.indexOf(' of(Object parsed'));
  const guarded = new Set([...ofBody.matchAll(/o\.has\("(\w+)"\)/g)].map((m) => m[1]));
  for (const m of ofBody.matchAll(/o\.(\w+)\("(\w+)"\)/g)) {
    const [, accessor, key] = m;
    const field = fields.get(key);
    assert.ok(field, `${where}: ${name} reads "${key}", which the answer does not have (it has ${[...fields.keys()].join(', ')})`);
    const throwing = ['string', 'number', 'integer', 'bool', 'object', 'array', 'objects', 'strings'].includes(accessor);
    if (throwing && !guarded.has(key)) {
      assert.ok(field.required, `${where}: ${name} reads "${key}" with o.${accessor}(), which throws when it is missing, but the answer does not always have it (use opt…)`);
      assert.ok(!isNullable(field.schema), `${where}: ${name} reads "${key}" with o.${accessor}(), which throws on null, but the answer may have null there (use opt…)`);
    }
  }
  for (const [key, nested] of Object.entries(nestedRecords(ofBody))) {
    const array = key.endsWith('[]');
    const field = fields.get(array ? key.slice(0, -2) : key)!;
    const inner = array ? members(field.schema).find((s) => s.items)?.items : members(field.schema).find((s) => s.properties);
    assert.ok(inner, `${where}: ${name}.${key} is not an ${array ? 'array' : 'object'} in the answer`);
    checkRecord(records, nested, inner, `${where} → ${key}`);
  }
  if (item && item !== 'JsonObject') {
    const results = members(fields.get('results')?.schema ?? {}).find((s) => s.items)?.items;
    assert.ok(results, `${where}: the page has no results array`);
    checkRecord(records, item, results, `${where} → results[]`);
  }
}

describe("the PHP and Java clients' hand-kept shapes match the server's OpenAPI document", () => {
  let doc: Doc;
  before(async () => {
    doc = (await serverOpenApiDocument()) as unknown as Doc;
  });

  const java = javaCalls();
  const php = phpCalls();

  test('the sources were read (the parsers still find the calls)', () => {
    assert.ok(java.calls.length >= 30, `found ${java.calls.length} Java calls`);
    assert.ok(php.length >= 30, `found ${php.length} PHP calls`);
    assert.ok(java.calls.some((c) => c.path === '/auth/authentication/verify/' && c.record === 'AuthDecision'), 'the Java one-shot verify is found');
    assert.ok(php.some((c) => c.path === '/webhooks/endpoints/{}/test/'), 'a PHP path with a computed segment is found');
  });

  for (const [lang, calls] of [['Java', java.calls], ['PHP', php]] as const) {
    test(`${lang}: every endpoint exists and takes the fields sent`, () => {
      for (const c of calls) {
        const op = operation(doc, c.method, c.path);
        const takes = accepted(op);
        const unknown = c.sends.filter((k) => !takes.has(k));
        assert.deepEqual(unknown, [], `${c.file}: ${c.method} ${c.path} sends ${unknown.join(', ')}, which the operation does not take (it takes ${[...takes].join(', ')})`);
      }
    });
  }

  test('Java: every record reads only fields its answer has, and required ones only where always present', () => {
    for (const c of java.calls.filter((x) => x.record)) {
      const where = `${c.file}: ${c.method} ${c.path}`;
      const schema = answer(operation(doc, c.method, c.path));
      if (c.record === 'Page') {
        const item = new RegExp(`Page\\.of\\(http\\.request\\("${c.method}", "${c.path.replace(/[{}]/g, '.*')}"[^;]*?, (\\w+)::of\\)`).exec(fs.readFileSync(path.join(JAVA_DIR, c.file), 'utf8'))?.[1];
        checkRecord(java.records, 'Page', schema, where, item);
      } else checkRecord(java.records, c.record!, schema, where);
    }
  });

  test('PHP: every @return array{…} shape names only fields of the answer', () => {
    const shaped = php.filter((c) => c.returns);
    assert.ok(shaped.length >= 2, 'the PHP @return shapes are found');
    for (const c of shaped) {
      const fields = objectFields(answer(operation(doc, c.method, c.path)));
      const unknown = c.returns!.filter((k) => !fields.has(k));
      assert.deepEqual(unknown, [], `${c.file}: ${c.method} ${c.path} promises ${unknown.join(', ')}, which the answer does not have`);
    }
  });
});
