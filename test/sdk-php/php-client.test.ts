import assert from 'node:assert/strict';
import { recordSkip } from '../helpers/skips.ts';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ROOT, probe, readmeBlock, run, useSdkHarness } from '../helpers/sdk-harness.ts';

/**
 * The PHP client (sdk/php, Composer `wajah/sdk`) against a real server: starts the app with the real face
 * engine, a webhook receiver and a flaky server (test/helpers/sdk-harness.ts), then runs the PHPUnit
 * suite (`phpunit -c sdk/php/phpunit.xml.dist`, Debian's phpunit) and the README's quickstart
 * (sdk/php/examples/quickstart.php, which the README shows verbatim) as child processes.
 *
 * Without php (≥ 8.1, with curl) or phpunit the suite is skipped with a notice, except under CI=true
 * (.ci/run installs php-cli, php-curl and phpunit), where that is a failure.
 */

const PHP_ROOT = path.join(ROOT, 'sdk/php');
const PHP = process.env.PHP || 'php';
const PHPUNIT = process.env.PHPUNIT || 'phpunit';

function phpVersion(): string | null {
  const v = probe(PHP, ['-r', 'echo PHP_VERSION_ID >= 80100 && extension_loaded("curl") ? PHP_VERSION : "old";']);
  return v && v !== 'old' ? v : null;
}

const version = phpVersion();
const phpunit = version ? (probe(PHPUNIT, ['--version'])?.replace(/ by .*/, '') ?? null) : null;

if (!version || !phpunit) {
  const why = !version ? `${PHP} (≥ 8.1 with ext-curl) not found` : `${PHPUNIT} not found`;
  const full = `${why}: the PHP client tests (sdk/php) cannot run (apt-get install php-cli php-curl phpunit)`;
  if (process.env.CI === 'true') {
    test('php client: php and phpunit are required under CI', () => assert.fail(full));
  } else {
    recordSkip('PHP client tests', full);
    test('wajah/sdk (PHP) against a real server', { skip: full }, () => {});
  }
} else {
  describe(`wajah/sdk (PHP ${version}, ${phpunit}) against a real server`, () => {
    const env = useSdkHarness('PHP');

    test('phpunit -c sdk/php/phpunit.xml.dist: every test runs and passes', async () => {
      const { code, output } = await run(PHPUNIT, ['-c', path.join(PHP_ROOT, 'phpunit.xml.dist'), '--testdox'], { env: env(), timeoutMs: 540_000 });
      const detail = `phpunit exited ${code}:\n${output}`;
      assert.equal(code, 0, detail);
      const ok = /^OK \((\d+) tests?, (\d+) assertions?\)$/m.exec(output);
      assert.ok(ok, `every PHP test must pass, none skipped or risky\n${detail}`);
      assert.ok(Number(ok[1]) >= 12, `expected at least 12 PHP tests\n${detail}`);
      if (process.env.WAJAH_TEST_VERBOSE) console.log(output);
    });

    test("the README's quickstart runs against the server: create, enroll, verify, identify, error code, signature", async () => {
      const example = readFileSync(path.join(PHP_ROOT, 'examples/quickstart.php'), 'utf8');
      assert.equal(readmeBlock(readFileSync(path.join(PHP_ROOT, 'README.md'), 'utf8'), 'quickstart'), example, 'sdk/php/README.md shows examples/quickstart.php verbatim');
      const data = env().WAJAH_TEST_DATA!;
      const photo = (who: string, n: number) => path.join(data, `faces_extra/face_recognition/${who}/${who}_0${n}.jpg`);
      const { code, output } = await run(PHP, [path.join(PHP_ROOT, 'examples/quickstart.php'), photo('obama', 1), photo('obama', 2)], { env: env(), timeoutMs: 120_000 });
      assert.equal(code, 0, output);
      const lines = output.trim().split('\n');
      assert.match(lines[0]!, /^enrolled EMP-[0-9a-f]{8}: completed$/, output);
      assert.match(lines[1]!, /^verified EMP-[0-9a-f]{8} \(confidence 0\.\d\d\)$/, output);
      assert.deepEqual(lines.slice(2), ['identified John Doe', 'error USER_NOT_FOUND (404)', 'signature valid'], output);
    });
  });
}
