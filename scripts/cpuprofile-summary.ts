/**
 * Where a thread's CPU went, from a V8 CPU profile (`.cpuprofile`, e.g. `npm run bench -- --streams
 * --profile-http FILE`): the busy samples by what ran them, in a few groups (the embedded database, SQL
 * building, HTTP and Fastify, garbage collection, the rest), then the modules that took the most.
 *
 *   node scripts/cpuprofile-summary.ts FILE [--top N]
 *
 * A sample in a native function (a builtin such as a UTF-8 write or `postMessage`) counts for the nearest
 * caller that has a source: the database's string copies are the database's work.
 */
import { readFileSync } from 'node:fs';

interface CallFrame { functionName: string; url: string }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
interface Profile { nodes: ProfileNode[]; samples: number[] }

const argv = process.argv.slice(2);
const file = argv[0];
if (!file || file.startsWith('--')) {
  console.error('usage: node scripts/cpuprofile-summary.ts FILE [--top N]');
  process.exit(2);
}
const topAt = argv.indexOf('--top');
const top = topAt >= 0 ? Number(argv[topAt + 1]) : 15;
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parentOf = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);

/** What V8 itself reports: not a function of the program. */
const SPECIAL = new Set(['(idle)', '(garbage collector)', '(program)', '(root)']);

/** The module a sample's node belongs to: its own source, else its nearest caller's. */
function moduleOf(id: number): string {
  for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
    const { url, functionName } = byId.get(at)!.callFrame;
    if (SPECIAL.has(functionName)) return functionName;
    if (url) {
      if (url.startsWith('wasm://')) return 'wasm (the embedded database)';
      const nm = url.lastIndexOf('node_modules/');
      if (nm >= 0) {
        const parts = url.slice(nm + 'node_modules/'.length).split('/');
        return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
      }
      if (url.startsWith('node:')) return url;
      return url.replace(/^file:\/\/.*?\/(src|scripts|test)\//, '$1/');
    }
  }
  return '(native)';
}

/** The groups of the summary, first match wins. */
const GROUPS: Array<[string, (m: string) => boolean]> = [
  ['idle', (m) => m === '(idle)'],
  ['the embedded database (PGlite)', (m) => m.startsWith('wasm') || m === '@electric-sql/pglite' || m === 'src/db/pglite-driver.ts'],
  ['SQL building (Kysely)', (m) => m === 'kysely'],
  ['garbage collection', (m) => m === '(garbage collector)'],
  ['HTTP, Fastify, multipart', (m) => /^(fastify|@fastify\/|helmet|ajv|find-my-way|avvio|light-my-request|fast-json-stringify|secure-json-parse)/.test(m) || /^node:(_http|http|net|internal\/stream|internal\/http|events|stream)/.test(m)],
];

const modules = new Map<string, number>();
for (const s of profile.samples) {
  const m = moduleOf(s);
  modules.set(m, (modules.get(m) ?? 0) + 1);
}
const groups = new Map<string, number>();
let busy = 0;
for (const [m, n] of modules) {
  const g = GROUPS.find(([, test]) => test(m))?.[0] ?? 'the rest';
  groups.set(g, (groups.get(g) ?? 0) + n);
  if (g !== 'idle') busy += n;
}
const pct = (n: number) => `${((100 * n) / Math.max(1, busy)).toFixed(1)} %`;
console.log(`${file}: ${profile.samples.length} samples, ${busy} busy (${((100 * busy) / profile.samples.length).toFixed(1)} %); shares of the busy samples:`);
for (const [g] of GROUPS.slice(1)) console.log(`  ${g.padEnd(34)} ${pct(groups.get(g) ?? 0)}`);
console.log(`  ${'the rest'.padEnd(34)} ${pct(groups.get('the rest') ?? 0)}`);
console.log(`modules (top ${top}):`);
for (const [m, n] of [...modules].filter(([m]) => m !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(n).padStart(7)}  ${m}`);
