import assert from 'node:assert/strict';
import { recordSkip } from '../helpers/skips.ts';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { ROOT, probe, readmeBlock, run, useSdkHarness } from '../helpers/sdk-harness.ts';

/**
 * The Java client (sdk/java, Maven `id.wajah:wajah-sdk`) against a real server: starts the app with the
 * real face engine, a webhook receiver and a flaky server (test/helpers/sdk-harness.ts), compiles the SDK
 * and its JUnit 5 suite with javac, runs the suite with the JUnit console launcher (Debian's junit5
 * package), and runs the README's quickstart (sdk/java/examples/Quickstart.java, shown verbatim in the
 * README) with the source launcher. Maven is not used here: Debian's /usr/share/maven-repo has no
 * compiler or surefire plugin for an offline build; pom.xml is for users with Maven Central.
 *
 * Without javac (≥ 17) or the launcher jar the suite is skipped with a notice, except under CI=true
 * (.ci/run installs default-jdk-headless and junit5), where that is a failure.
 */

const JAVA_ROOT = path.join(ROOT, 'sdk/java');
const JAVA_HOME_BIN = process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin') : '';
const javaTool = (name: string) => (JAVA_HOME_BIN && existsSync(path.join(JAVA_HOME_BIN, name)) ? path.join(JAVA_HOME_BIN, name) : name);
const JAVAC = javaTool('javac');
const JAVA = javaTool('java');
const LAUNCHER = process.env.JUNIT_CONSOLE_JAR || '/usr/share/java/junit-platform-console-standalone.jar';

function javacVersion(): string | null {
  const v = probe(JAVAC, ['-version']);
  const major = v ? Number(/javac (\d+)/.exec(v)?.[1]) : 0;
  return major >= 17 ? v : null;
}

const javac = javacVersion();

function javaFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.java'))
    .map((f) => path.join(dir, f));
}

if (!javac || !existsSync(LAUNCHER)) {
  const why = !javac ? `${JAVAC} (JDK ≥ 17) not found` : `the JUnit console launcher ${LAUNCHER} not found`;
  const full = `${why}: the Java client tests (sdk/java) cannot run (apt-get install default-jdk-headless junit5)`;
  if (process.env.CI === 'true') {
    test('java client: a JDK and junit5 are required under CI', () => assert.fail(full));
  } else {
    recordSkip('Java client tests', full);
    test('id.wajah:wajah-sdk (Java) against a real server', { skip: full }, () => {});
  }
} else {
  describe(`id.wajah:wajah-sdk (${javac}) against a real server`, () => {
    const env = useSdkHarness('Java');
    const build = mkdtempSync(path.join(os.tmpdir(), 'wajah-java-sdk-'));
    const classes = path.join(build, 'classes');
    const testClasses = path.join(build, 'test-classes');
    after(() => rmSync(build, { recursive: true, force: true }));

    test('javac: the SDK compiles for Java 17 without warnings, and its test suite with it', async () => {
      const main = await run(JAVAC, ['--release', '17', '-Xlint:all,-serial', '-Werror', '-encoding', 'UTF-8', '-d', classes, ...javaFiles(path.join(JAVA_ROOT, 'src/main/java'))], { timeoutMs: 180_000 });
      assert.equal(main.code, 0, main.output);
      const tests = await run(JAVAC, ['--release', '17', '-encoding', 'UTF-8', '-cp', `${classes}${path.delimiter}${LAUNCHER}`, '-d', testClasses, ...javaFiles(path.join(JAVA_ROOT, 'src/test/java'))], { timeoutMs: 180_000 });
      assert.equal(tests.code, 0, tests.output);
    });

    test('JUnit console launcher: every test runs and passes', async () => {
      const { code, output } = await run(
        JAVA,
        ['-jar', LAUNCHER, '--disable-banner', '--details=tree', '--fail-if-no-tests', '-cp', `${classes}${path.delimiter}${testClasses}`, '--select-package', 'id.wajah.sdk'],
        { env: env(), timeoutMs: 540_000 },
      );
      const detail = `junit exited ${code}:\n${output}`;
      assert.equal(code, 0, detail);
      const count = (what: string) => Number(new RegExp(`\\[\\s*(\\d+) tests ${what}\\s*\\]`).exec(output)?.[1] ?? NaN);
      assert.ok(count('successful') >= 15, `expected at least 15 Java tests to pass\n${detail}`);
      assert.deepEqual([count('failed'), count('skipped'), count('aborted')], [0, 0, 0], detail);
      if (process.env.WAJAH_TEST_VERBOSE) console.log(output);
    });

    test("the README's quickstart runs against the server: create, enroll, verify, identify, error code, signature", async () => {
      const file = path.join(JAVA_ROOT, 'examples/Quickstart.java');
      assert.equal(readmeBlock(readFileSync(path.join(JAVA_ROOT, 'README.md'), 'utf8'), 'quickstart'), readFileSync(file, 'utf8'), 'sdk/java/README.md shows examples/Quickstart.java verbatim');
      const photo = (who: string, n: number) => path.join(env().WAJAH_TEST_DATA!, `faces_extra/face_recognition/${who}/${who}_0${n}.jpg`);
      const { code, output } = await run(JAVA, ['-cp', classes, file, photo('obama', 1), photo('obama', 2)], { env: env(), timeoutMs: 180_000 });
      assert.equal(code, 0, output);
      const lines = output.trim().split('\n');
      assert.match(lines[0]!, /^enrolled EMP-[0-9a-f]{8}: completed$/, output);
      assert.match(lines[1]!, /^verified EMP-[0-9a-f]{8} \(confidence 0\.\d\d\)$/, output);
      assert.deepEqual(lines.slice(2), ['identified John Doe', 'error USER_NOT_FOUND (404)', 'signature valid'], output);
    });
  });
}
