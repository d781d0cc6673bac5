import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { serverOpenApiDocument } from '../../scripts/sdk-types.ts';

/**
 * The Python client's `TypedDict`s (sdk/python/face_recognition_api_client/types.py) against the server's
 * OpenAPI document, the one source of truth for answers (generated from the route schemas): the same keys,
 * the same required keys, and the same scalar types. Python reports each class's keys itself
 * (`__required_keys__`, `typing.get_type_hints`), so base classes and `total=False` count as Python sees them.
 * Without python3 ≥ 3.9 the check is skipped with a notice, except under CI=true.
 */

const ROOT = path.resolve(import.meta.dirname, '../..');
const PYTHON = process.env.PYTHON || 'python3';

type Schema = { type?: string; nullable?: boolean; properties?: Record<string, Schema>; required?: string[]; items?: Schema; anyOf?: Schema[]; enum?: unknown[] };
interface PyClass {
  required: string[];
  optional: string[];
  types: Record<string, string>;
}

/** Each TypedDict and where its shape is in the document: [path, method, status, property path ('[]' for array items)]. */
const WHERE: Record<string, [string, string, string, string[]]> = {
  Page: ['/api/v1/clients/users/', 'get', '200', []],
  User: ['/api/v1/clients/users/{user_id}/', 'get', '200', []],
  EnrollmentSession: ['/api/v1/auth/enrollment/create/', 'post', '201', []],
  EnrollmentFrameResult: ['/api/v1/auth/enrollment/process-frame/', 'post', '200', []],
  Feedback: ['/api/v1/auth/enrollment/process-frame/', 'post', '200', ['feedback']],
  Progress: ['/api/v1/auth/enrollment/process-frame/', 'post', '200', ['progress']],
  FaceLocation: ['/api/v1/auth/enrollment/process-frame/', 'post', '200', ['face']],
  EnrollmentResult: ['/api/v1/auth/enrollment/complete/', 'post', '201', []],
  QualityMetrics: ['/api/v1/auth/enrollment/complete/', 'post', '201', ['quality_metrics']],
  EnrollmentList: ['/api/v1/auth/enrollments/', 'get', '200', []],
  EnrollmentDeleted: ['/api/v1/auth/enrollments/{enrollment_id}/', 'delete', '200', []],
  AuthenticationSession: ['/api/v1/auth/authentication/create/', 'post', '201', []],
  AuthDecision: ['/api/v1/auth/authentication/process-frame/', 'post', '200', []],
  AuthResult: ['/api/v1/auth/authentication/process-frame/', 'post', '200', ['result']],
  Match: ['/api/v1/auth/authentication/process-frame/', 'post', '200', ['result', 'matches', '[]']],
  BatchProcessResult: ['/api/v1/auth/authentication/batch-process/', 'post', '200', []],
  WebhookEndpoint: ['/api/v1/webhooks/endpoints/', 'post', '201', []],
  RetryPolicy: ['/api/v1/webhooks/endpoints/{id}/', 'get', '200', ['retry_policy']],
  WebhookLog: ['/api/v1/webhooks/logs/{log_id}/', 'get', '200', []],
  WebhookReplay: ['/api/v1/webhooks/logs/retry/', 'post', '202', []],
  Status: ['/api/v1/core/status/', 'get', '200', []],
};

const INTROSPECT = `
import json, sys, typing
sys.path.insert(0, 'sdk/python')
import face_recognition_api_client.types as T
out = {}
for name in dir(T):
    c = getattr(T, name)
    if isinstance(c, type) and hasattr(c, '__required_keys__') and not name.startswith('_'):
        out[name] = {'required': sorted(c.__required_keys__), 'optional': sorted(c.__optional_keys__),
                     'types': {k: repr(v).replace('typing.', '').replace('face_recognition_api_client.types.', '') for k, v in typing.get_type_hints(c).items()}}
print(json.dumps(out))
`;

function at(doc: { paths: Record<string, Record<string, { responses: Record<string, { content: Record<string, { schema: Schema }> }> }>> }, [p, method, status, props]: [string, string, string, string[]]): Schema {
  const root = doc.paths[p]?.[method]?.responses[status]?.content['application/json']?.schema;
  assert.ok(root, `${method.toUpperCase()} ${p} ${status} has no JSON answer in the document`);
  let s: Schema = root;
  for (const prop of props) {
    const next: Schema | undefined = prop === '[]' ? s.items : s.properties?.[prop];
    assert.ok(next, `${p}: no ${props.join('.')}`);
    s = next;
  }
  return s;
}

/** The Python annotation a scalar schema implies (null for arrays and objects: only their outer kind is checked). */
function pythonScalar(s: Schema): string | null {
  const members = s.anyOf ?? [s];
  const nullable = s.nullable === true || members.some((m) => m.type === 'null' || m.nullable === true);
  const kinds = new Set(members.filter((m) => m.type !== 'null').map((m) => m.type));
  if (kinds.size !== 1) return null;
  const kind = [...kinds][0];
  const py = { string: 'str', integer: 'int', number: 'float', boolean: 'bool' }[kind ?? ''];
  if (!py) return null;
  const bare = `<class '${py}'>`;
  return nullable ? `Optional[${py}]` : bare;
}

const ok = (() => {
  const r = spawnSync(PYTHON, ['-c', 'import sys; print(sys.version_info >= (3, 9))'], { encoding: 'utf8' });
  return !r.error && r.stdout.trim() === 'True';
})();

if (!ok) {
  const why = `${PYTHON} (≥ 3.9) not found: the Python client's types cannot be checked`;
  if (process.env.CI === 'true') test('python types: python3 is required under CI', () => assert.fail(why));
  else test('Python client types against the OpenAPI document', { skip: why }, () => {});
} else {
  describe("the Python client's TypedDicts match the server's OpenAPI document", () => {
    let doc: Parameters<typeof at>[0];
    let classes: Record<string, PyClass>;
    before(async () => {
      doc = (await serverOpenApiDocument()) as unknown as Parameters<typeof at>[0];
      const r = spawnSync(PYTHON, ['-c', INTROSPECT], { cwd: ROOT, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      classes = JSON.parse(r.stdout) as Record<string, PyClass>;
    });

    test('every answer TypedDict is mapped to its place in the document', () => {
      assert.deepEqual(Object.keys(classes).sort(), Object.keys(WHERE).sort());
    });

    for (const name of Object.keys(WHERE)) {
      test(name, () => {
        const py = classes[name];
        assert.ok(py, `types.py has no ${name}`);
        const schema = at(doc, WHERE[name]!);
        const keys = Object.keys(schema.properties ?? {}).sort();
        assert.deepEqual([...py.required, ...py.optional].sort(), keys, `${name}: keys differ from the answer's`);
        assert.deepEqual(py.required, [...(schema.required ?? [])].sort(), `${name}: required keys differ (Python's total=False marks optional ones)`);
        for (const key of keys) {
          const prop = schema.properties![key]!;
          const expected = pythonScalar(prop);
          const actual = py.types[key]!;
          if (expected) assert.equal(actual, expected, `${name}.${key}`);
          else if (prop.type === 'array') assert.match(actual, /^List\[/, `${name}.${key} is a list`);
          else if (prop.type === 'object' || prop.properties) assert.match(actual, /^(Dict\[|<class '[A-Z]\w*'>$|Optional\[(Dict\[|[A-Z]\w*\]))/, `${name}.${key} is an object`);
        }
      });
    }
  });
}
