import { privateUmask } from '../config/private-files.ts';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError, loadConfig } from '../config/env.ts';
import { isAppError } from '../errors.ts';
import type { Tier } from '../db/schema.ts';
import { CliError, connectAdmin, type AdminOps } from './admin-ops.ts';
import { registerOfflineCommands } from './offline.command.ts';
import { registerBackupCommands } from './backup.command.ts';
import { registerDbCommands } from './db.command.ts';
import { registerRotateMasterCommand } from './rotate-master.command.ts';
import { registerSsoCommands } from './sso.command.ts';

/**
 * `wajah` operator CLI: clients and API keys. Talks to a running server's admin API when one runs on
 * this data directory (or --url is given), else opens the database directly (see admin-ops.ts).
 *
 * @example npx wajah clients create --name "Acme" --tier basic --json
 */
function intArg(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a non-negative integer');
  return n;
}

const list = (value: string) =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

interface Globals {
  url?: string;
  dataDir?: string;
  init?: boolean;
}

async function withOps<T>(program: Command, fn: (ops: AdminOps) => Promise<T>): Promise<T> {
  privateUmask();
  const g = program.opts<Globals>();
  const env = { ...process.env, ...(g.dataDir ? { WAJAH_DATA_DIR: g.dataDir } : {}) };
  const config = loadConfig(env);
  const ops = await connectAdmin(config, { url: g.url, env, init: g.init });
  // Say which database was used (on stderr, so --json output stays clean).
  console.error(`wajah: ${ops.mode === 'api' ? 'admin API at' : 'database'} ${ops.target}`);
  try {
    return await fn(ops);
  } finally {
    await ops.close();
  }
}

function print(json: boolean | undefined, value: unknown, human: () => string): void {
  console.log(json ? JSON.stringify(value) : human());
}

function credentialsText(c: { client_id: string; name?: string; api_key: string; secret_key: string; tier: string }, extra = ''): string {
  return [
    `client_id:  ${c.client_id}`,
    c.name ? `name:       ${c.name}` : '',
    `tier:       ${c.tier}`,
    `api_key:    ${c.api_key}`,
    `secret_key: ${c.secret_key}`,
    extra,
    'The secret is shown only now. Use: Authorization: ApiKey <api_key>:<secret_key>',
  ]
    .filter(Boolean)
    .join('\n');
}

export function buildCli(): Command {
  const program = new Command('wajah')
    .description('Wajah operator CLI: clients (tenants) and API keys')
    .option('--url <url>', 'admin API of a server (default: a server running on this data dir, else the database directly)')
    .option('--data-dir <dir>', 'data directory (default WAJAH_DATA_DIR or ./data)')
    .option('--init', 'create the embedded database if the data directory has none (otherwise that is an error)')
    .showHelpAfterError();

  const clients = program.command('clients').description('manage clients (tenants)');
  clients
    .command('create')
    .description('create a client and its first API key')
    .requiredOption('--name <name>', 'client name')
    .addOption(new Option('--tier <tier>', 'tier').choices(['basic', 'premium', 'enterprise']).default('basic'))
    .option('--max-users <n>', 'user limit (overrides the tier)', intArg)
    .option('--calls-per-hour <n>', 'API calls per hour (overrides the tier)', intArg)
    .option('--ip-allowlist <cidrs>', 'comma-separated IPs/CIDRs', list)
    .option('--json', 'print one JSON object')
    .action(async (o: { name: string; tier: Tier; maxUsers?: number; callsPerHour?: number; ipAllowlist?: string[]; json?: boolean }) => {
      const created = await withOps(program, (ops) =>
        ops.createClient({ name: o.name, tier: o.tier, max_users: o.maxUsers, calls_per_hour: o.callsPerHour, ip_allowlist: o.ipAllowlist }),
      );
      const out = { client_id: created.client_id, name: o.name, api_key: created.api_key, secret_key: created.secret_key, tier: created.tier };
      print(o.json, out, () => credentialsText(out));
    });
  clients
    .command('list')
    .description('list clients')
    .option('--json', 'print a JSON array')
    .action(async (o: { json?: boolean }) => {
      const all = await withOps(program, (ops) => ops.listClients());
      print(o.json, all, () =>
        all.length
          ? all
              .map((c) => `${c.client_id}  ${c.tier.padEnd(10)} ${c.is_active ? 'active  ' : 'disabled'}  users=${c.users_count ?? '?'}  ${c.name}`)
              .join('\n')
          : 'no clients',
      );
    });

  const keys = program.command('keys').description('manage API keys, and the master key (rotate-master)');
  keys
    .command('create')
    .description('issue another API key for a client')
    .requiredOption('--client <id>', 'client id')
    .option('--name <name>', 'label for the key')
    .option('--ip-allowlist <cidrs>', 'comma-separated IPs/CIDRs for this key', list)
    .option('--json', 'print one JSON object')
    .action(async (o: { client: string; name?: string; ipAllowlist?: string[]; json?: boolean }) => {
      const k = await withOps(program, (ops) => ops.createKey(o.client, { name: o.name ?? null, ip_allowlist: o.ipAllowlist }));
      const out = { client_id: k.client_id, api_key: k.api_key, secret_key: k.secret_key, tier: k.tier };
      print(o.json, out, () => credentialsText(out));
    });
  keys
    .command('revoke <key>')
    .description('revoke a key at once')
    .option('--json', 'print one JSON object')
    .action(async (key: string, o: { json?: boolean }) => {
      const k = await withOps(program, (ops) => ops.revokeKey(key));
      print(o.json, k, () => `revoked ${k.key} at ${k.revoked_at}`);
    });
  keys
    .command('rotate <key>')
    .description('issue a replacement key; the old one keeps working for the grace period, then stops')
    .option('--grace <seconds>', 'grace period for the old key (default WAJAH_KEY_GRACE_SECONDS, 24 h)', intArg)
    .option('--json', 'print one JSON object')
    .action(async (key: string, o: { grace?: number; json?: boolean }) => {
      const r = await withOps(program, (ops) => ops.rotateKey(key, o.grace));
      const out = { client_id: r.client_id, api_key: r.api_key, secret_key: r.secret_key, tier: r.tier, replaces: r.replaces, old_key_expires_at: r.old_key_expires_at };
      print(o.json, out, () => credentialsText(out, `replaces:   ${r.replaces} (works until ${r.old_key_expires_at})`));
    });
  registerRotateMasterCommand(keys, program);

  // CompreFace-compatible API keys (docs/compreface.md): the x-api-key of one service; revoke with `keys revoke`.
  const cfKeys = program.command('compreface-keys').description('CompreFace-compatible API keys (x-api-key), one per service');
  cfKeys
    .command('create')
    .description('issue a key of one CompreFace service for a client (shown once)')
    .requiredOption('--client <id>', 'client id')
    .addOption(new Option('--service <service>', 'CompreFace service').choices(['recognition', 'detection', 'verification']).makeOptionMandatory())
    .option('--name <name>', 'label for the key')
    .option('--json', 'print one JSON object')
    .action(async (o: { client: string; service: 'recognition' | 'detection' | 'verification'; name?: string; json?: boolean }) => {
      const k = await withOps(program, (ops) => ops.issueCompreFaceKey(o.client, o.service, o.name ?? null));
      print(o.json, k, () =>
        [`client_id: ${k.client_id}`, `service:   ${k.service}`, `x-api-key: ${k.api_key}`, `key id:    ${k.key} (revoke with: wajah keys revoke '${k.key}')`, 'The x-api-key is shown only now.'].join('\n'),
      );
    });
  cfKeys
    .command('list')
    .description("list a client's CompreFace keys (never their values)")
    .requiredOption('--client <id>', 'client id')
    .option('--json', 'print a JSON array')
    .action(async (o: { client: string; json?: boolean }) => {
      const all = await withOps(program, (ops) => ops.listCompreFaceKeys(o.client));
      print(o.json, all, () => (all.length ? all.map((k) => `${k.key}  ${k.service.padEnd(12)} ${k.status.padEnd(7)}  ${k.name ?? ''}`).join('\n') : 'no CompreFace keys'));
    });
  registerOfflineCommands(program);
  registerBackupCommands(program);
  registerDbCommands(program);
  registerSsoCommands(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildCli().parseAsync(argv);
    // A command may set its own status (offline verify: 1 = not authenticated, 2 = error).
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message);
      return 78;
    }
    if (e instanceof CliError || isAppError(e)) {
      console.error(`error ${e.code}: ${e.message}`);
      return 1;
    }
    console.error(e);
    return 1;
  }
}

process.exitCode = await main(process.argv);
