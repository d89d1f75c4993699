import { Command, Option } from 'commander';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import {
  createSigningKey,
  exportKeystore,
  FileAuditSink,
  importKeystore,
  listSigningKeys,
  LocalSecretStore,
  rotateSigningKey,
  SecretsManager,
  type KeyInfo,
} from '../secrets/index.js';
import { StrandError } from '../core/index.js';

/**
 * Reads a password: from the environment variable when it is set (automation, CI), otherwise
 * from the terminal with echo off. With neither, it fails rather than read a password from a
 * pipe that may be logged.
 */
export async function readPassword(envVar: string, prompt: string, confirm = false): Promise<string> {
  const fromEnv = process.env[envVar];
  if (fromEnv !== undefined && fromEnv.length > 0) return fromEnv;
  if (!process.stdin.isTTY) throw new StrandError('WRONG_PASSWORD', `no terminal to ask for the password: set ${envVar}`);
  const first = await promptHidden(prompt);
  if (confirm && (await promptHidden('Repeat it: ')) !== first) throw new StrandError('WRONG_PASSWORD', 'the two passwords differ');
  if (first.length === 0) throw new StrandError('WRONG_PASSWORD', 'the password is empty');
  return first;
}

function promptHidden(prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    process.stderr.write(prompt);
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    let value = '';
    const done = (err?: Error): void => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: string): void => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003') return done(new StrandError('WRONG_PASSWORD', 'cancelled'));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on('data', onData);
  });
}

interface StoreOpts {
  store?: string;
  dataDir: string;
}

async function openManager(opts: StoreOpts, creating = false): Promise<SecretsManager> {
  const path = opts.store ?? join(opts.dataDir, 'secrets.json');
  const password = await readPassword('STRAND_SECRETS_PASSWORD', `Password of the secrets store ${path}: `, creating);
  const store = await LocalSecretStore.open(path, password);
  return new SecretsManager(store, { actor: `cli:${userInfo().username}`, audit: new FileAuditSink(`${path}.audit.jsonl`), cacheTtlMs: 0 });
}

function keyName(name: string): string {
  return name.includes('/') ? name : `keys/${name}`;
}

function show(k: KeyInfo): void {
  process.stdout.write(`${k.name}  ${k.address}  version ${k.version}\n`);
}

const storeOptions = (c: Command): Command =>
  c
    .addOption(new Option('--data-dir <dir>', 'data directory; the store is <dir>/secrets.json').env('STRAND_DATA_DIR').default('.strand'))
    .addOption(new Option('--store <file>', 'the encrypted secrets store file (overrides --data-dir)').env('STRAND_SECRETS_STORE'));

/**
 * `strand keys`: signing keys in the encrypted secrets store. Passwords come from the terminal,
 * or from STRAND_SECRETS_PASSWORD (the store) and STRAND_KEYSTORE_PASSWORD (a keystore file).
 */
export function registerKeysCommands(program: Command): void {
  const keys = program.command('keys').description('signing keys in the encrypted secrets store (docs/SECRETS.md)');

  storeOptions(keys.command('create <name>').description('create a new secp256k1 key (name: e.g. sequencer, batcher, proposer)')).action(async (name: string, opts: StoreOpts) => {
    const m = await openManager(opts, true);
    show(await createSigningKey(m, keyName(name)));
    await m.close();
  });

  storeOptions(keys.command('import <name> <keystore>').description('import an EIP-2335 or Web3 Secret Storage v3 keystore file'))
    .option('--replace', 'rotate an existing key of that name to the imported one (the old one stays as the previous version)')
    .action(async (name: string, file: string, opts: StoreOpts & { replace?: boolean }) => {
      const text = await readFile(file, 'utf8');
      const ksPassword = await readPassword('STRAND_KEYSTORE_PASSWORD', `Password of ${file}: `);
      const m = await openManager(opts);
      show(await importKeystore(m, keyName(name), text, ksPassword, { replace: opts.replace === true }));
      await m.close();
    });

  storeOptions(keys.command('export <name> <file>').description('write the key to a new keystore file (never replaces a file)'))
    .addOption(new Option('--format <format>', 'keystore format').choices(['eip2335', 'v3']).default('v3'))
    .action(async (name: string, file: string, opts: StoreOpts & { format: 'eip2335' | 'v3' }) => {
      const m = await openManager(opts);
      const ksPassword = await readPassword('STRAND_KEYSTORE_PASSWORD', `New password for ${file}: `, true);
      const address = await exportKeystore(m, keyName(name), file, ksPassword, opts.format);
      process.stdout.write(`${keyName(name)}  ${address}  -> ${file}\n`);
      await m.close();
    });

  storeOptions(keys.command('list').description('list the signing keys: name, address, current version')).action(async (opts: StoreOpts) => {
    const m = await openManager(opts);
    for (const k of await listSigningKeys(m)) show(k);
    await m.close();
  });

  storeOptions(keys.command('rotate <name>').description('replace a key by a new one; the old one stays readable as the previous version')).action(async (name: string, opts: StoreOpts) => {
    const m = await openManager(opts);
    show(await rotateSigningKey(m, keyName(name)));
    await m.close();
  });
}
