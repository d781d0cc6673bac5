import fs from 'node:fs';
import type { Command } from 'commander';
import { isAppError } from '../errors.ts';

/**
 * `wajah offline verify`: verifies a face against an offline package on this machine (docs/offline.md).
 * Opens no database and no network connection; prints one JSON object. Exit status: 0 authenticated,
 * 1 not authenticated, 2 error (bad arguments, unreadable files, bad signature, expired, wrong secret, …).
 *
 * `wajah offline update-revocations` keeps the device's revocation list from going back to an older one;
 * `verify --max-revocations-age` refuses a list the device has not replaced for too long.
 *
 * @example npx wajah offline verify --package pkg.json --secret "$SECRET" --public-key key.pem --client-id "$CLIENT_ID" --user-id EMP001 --revocations revocations.json --max-revocations-age 2d --image photo.jpg
 */
export const EXIT = { authenticated: 0, rejected: 1, error: 2 } as const;

interface VerifyOptions {
  package: string;
  secret?: string;
  publicKey: string[];
  clientId?: string;
  userId?: string;
  revocations?: string;
  maxRevocationsAge?: string;
  image: string;
  allowExpired?: boolean;
}

export function registerOfflineCommands(program: Command): void {
  const offline = program.command('offline').description('offline verification packages (no server needed)');
  offline
    .command('verify')
    .description('verify a face photo against an offline package, without the server; exit 0 authenticated, 1 not, 2 error')
    .requiredOption('--package <file>', 'the package JSON (as issued by POST /api/clients/users/{user_id}/offline-package/)')
    .option('--secret <secret>', 'the package secret (default: $WAJAH_OFFLINE_PACKAGE_SECRET, which keeps it out of the process list)')
    .option('--public-key <file>', "the server's public key: PEM, JWK, or GET /api/offline/public-key/ saved as JSON; repeat it during a key rotation (the package's key_id picks one)", (file: string, files: string[]) => [...files, file], [] as string[])
    .option('--client-id <id>', "the tenant whose packages this device accepts (the issue answer's client_id; default: $WAJAH_OFFLINE_CLIENT_ID)")
    .option('--user-id <id>', "the user being verified (external_id or uuid): refuse another user's package put in this one's place (OFFLINE_USER_MISMATCH)")
    .option('--revocations <file>', "the tenant's signed revocation list (GET /api/offline/revocations/): refuse a recalled package (OFFLINE_PACKAGE_REVOKED)")
    .option(
      '--max-revocations-age <age>',
      "refuse to verify (OFFLINE_REVOCATIONS_STALE, exit 2) when the --revocations list was issued longer ago than this, by this machine's clock, or is not given: seconds, or 90s, 30m, 12h, 7d, 2w",
    )
    .requiredOption('--image <file>', 'the probe photo (JPEG, PNG or WebP)')
    .option('--allow-expired', 'report an expired package as not authenticated (exit 1) instead of an error')
    // Argument errors are errors (2), not a rejected face (1).
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : EXIT.error))
    .action(async (o: VerifyOptions) => {
      process.exitCode = await runVerify(o);
    });
  offline
    .command('update-revocations')
    .description("replace the device's revocation list with a newer one, after checking its signature and tenant; an older one is refused (exit 2, OFFLINE_REVOCATIONS_OUTDATED)")
    .requiredOption('--list <file>', 'the new list (GET /api/offline/revocations/ saved as JSON)')
    .requiredOption('--store <file>', "the device's list (created when missing; replaced atomically)")
    .option('--public-key <file>', "the server's public key (repeat it during a key rotation)", (file: string, files: string[]) => [...files, file], [] as string[])
    .option('--client-id <id>', 'the tenant whose lists this device accepts (default: $WAJAH_OFFLINE_CLIENT_ID)')
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : EXIT.error))
    .action(async (o: UpdateRevocationsOptions) => {
      process.exitCode = await runUpdateRevocations(o);
    });
}

interface UpdateRevocationsOptions {
  list: string;
  store: string;
  publicKey: string[];
  clientId?: string;
}

async function runUpdateRevocations(o: UpdateRevocationsOptions): Promise<number> {
  try {
    const clientId = o.clientId ?? process.env.WAJAH_OFFLINE_CLIENT_ID;
    if (!clientId) return fail('VALIDATION_ERROR', 'give --client-id or set WAJAH_OFFLINE_CLIENT_ID: the tenant whose lists this device accepts');
    if (!o.publicKey.length) return fail('VALIDATION_ERROR', "give --public-key: the server's public key");
    const readText = (file: string, what: string, missingOk = false): string | null => {
      try {
        return fs.readFileSync(file, 'utf8');
      } catch (e) {
        if (missingOk && (e as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw new CliInputError(`cannot read the ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
    };
    const publicKey = o.publicKey.map((file) => readText(file, 'public key')!);
    const incoming = readText(o.list, 'revocation list')!;
    const held = readText(o.store, 'stored revocation list', true);
    const { acceptRevocationList } = await import('../offline/revocation-list.ts');
    const accepted = acceptRevocationList({ held, incoming, publicKey, clientId });
    const tmp = `${o.store}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, incoming, { mode: 0o600 });
    fs.renameSync(tmp, o.store);
    console.log(JSON.stringify({ updated: true, issued_at: accepted.payload.issued_at, revocation_count: accepted.revokedBefore.size }));
    return 0;
  } catch (e) {
    if (e instanceof CliInputError) return fail('VALIDATION_ERROR', e.message);
    if (isAppError(e)) return fail(e.code, e.message, e.details);
    return fail('INTERNAL_ERROR', (e as Error).message ?? String(e));
  }
}

async function runVerify(o: VerifyOptions): Promise<number> {
  try {
    const secret = o.secret ?? process.env.WAJAH_OFFLINE_PACKAGE_SECRET;
    if (!secret) return fail('VALIDATION_ERROR', 'give --secret or set WAJAH_OFFLINE_PACKAGE_SECRET');
    const clientId = o.clientId ?? process.env.WAJAH_OFFLINE_CLIENT_ID;
    if (!clientId) return fail('VALIDATION_ERROR', 'give --client-id or set WAJAH_OFFLINE_CLIENT_ID: the tenant whose packages this device accepts');
    const read = (file: string, what: string) => {
      try {
        return fs.readFileSync(file);
      } catch (e) {
        throw new CliInputError(`cannot read the ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
    };
    if (!o.publicKey.length) return fail('VALIDATION_ERROR', "give --public-key: the server's public key (repeat it for each key a rotation keeps)");
    const publicKey = o.publicKey.map((file) => read(file, 'public key'));
    const { parseMaxAge } = await import('../offline/revocation-list.ts');
    const maxRevocationsAgeS = o.maxRevocationsAge === undefined ? undefined : parseMaxAge(o.maxRevocationsAge);
    const revocations = o.revocations === undefined ? undefined : read(o.revocations, 'revocation list').toString('utf8');
    const input = { package: read(o.package, 'package').toString('utf8'), publicKey, revocations, image: new Uint8Array(read(o.image, 'image')) };
    // Imported here so `wajah --help` and the other commands do not load the face engine.
    const { verifyOffline } = await import('../offline/verifier.ts');
    const result = await verifyOffline({ ...input, packageSecret: secret, clientId, userId: o.userId, maxRevocationsAgeS, allowExpired: o.allowExpired });
    console.log(JSON.stringify(result));
    return result.authenticated ? EXIT.authenticated : EXIT.rejected;
  } catch (e) {
    if (e instanceof CliInputError) return fail('VALIDATION_ERROR', e.message);
    if (isAppError(e)) return fail(e.code, e.message, e.details);
    return fail('INTERNAL_ERROR', (e as Error).message ?? String(e));
  }
}

function fail(code: string, message: string, details?: unknown): number {
  console.log(JSON.stringify({ authenticated: false, error: { code, message, ...(details !== undefined ? { details } : {}) } }));
  console.error(`error ${code}: ${message}`);
  return EXIT.error;
}

class CliInputError extends Error {}
