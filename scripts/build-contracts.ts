// Compiles contracts/**/*.sol with solc-js (in-process, no toolchain download) into
// contracts/artifacts/<Name>.json = { abi, bytecode }. Skips all work when the sources, the
// compiler and the settings are unchanged (a hash stored beside the artifacts), so it can run
// before every `npm start` and `npm test`. Exits non-zero with the compiler's messages on error.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const CONTRACTS_DIR = join(ROOT, 'contracts');
export const ARTIFACTS_DIR = join(CONTRACTS_DIR, 'artifacts');
const HASH_FILE = join(ARTIFACTS_DIR, '.sources-hash');

// solc-js ships no type declarations; this is the slice of it used here.
interface Solc {
  version(): string;
  compile(input: string, callbacks: { import: (path: string) => { contents: string } | { error: string } }): string;
}
interface SolcMessage {
  severity: 'error' | 'warning' | 'info';
  formattedMessage: string;
  sourceLocation?: { file: string };
}
interface SolcOutput {
  errors?: SolcMessage[];
  contracts?: Record<string, Record<string, { abi: unknown[]; evm: { bytecode: { object: string } } }>>;
}

const require = createRequire(import.meta.url);

// Cancun: transient storage (ReentrancyGuardTransient) and BLOBHASH.
const SETTINGS = {
  optimizer: { enabled: true, runs: 200 },
  evmVersion: 'cancun',
  outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
};

export class ContractBuildError extends Error {
  override readonly name = 'ContractBuildError';
}

export interface BuildResult {
  readonly skipped: boolean;
  readonly contracts: readonly string[];
  readonly warnings: readonly string[];
}

/** Our .sol files (contracts/ and its subfolders, artifacts excluded), as solc source units
 * keyed by a path relative to contracts/ with forward slashes. */
function collectSources(): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (p !== ARTIFACTS_DIR && e.name !== 'node_modules') walk(p);
      } else if (e.name.endsWith('.sol')) {
        out.set(relative(CONTRACTS_DIR, p).split(sep).join('/'), readFileSync(p, 'utf8'));
      }
    }
  };
  walk(CONTRACTS_DIR);
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Resolves `@openzeppelin/...` (and any other package import) from node_modules. */
function findImport(path: string): { contents: string } | { error: string } {
  const candidates = [join(ROOT, 'node_modules', path), join(CONTRACTS_DIR, path)];
  for (const c of candidates) {
    if (existsSync(c)) return { contents: readFileSync(c, 'utf8') };
  }
  return { error: `import not found: ${path}` };
}

function packageVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'none';
  }
}

function sourcesHash(sources: Map<string, string>): string {
  const h = createHash('sha256');
  // Package versions, not solc.version(): loading the compiler alone costs most of a second.
  h.update(JSON.stringify({ solc: packageVersion('solc'), oz: packageVersion('@openzeppelin/contracts'), SETTINGS }));
  for (const [path, text] of sources) h.update(`\0${path}\0${text}`);
  return h.digest('hex');
}

function writeAtomic(path: string, data: string): void {
  // Two test files may build at once; a rename never leaves a half-written artifact.
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

/** Compiles when anything changed; `force` compiles regardless. Throws ContractBuildError with
 * the compiler's messages on any error. */
export function buildContracts(opts: { force?: boolean } = {}): BuildResult {
  const sources = collectSources();
  const hash = sourcesHash(sources);
  if (!opts.force && existsSync(HASH_FILE) && readFileSync(HASH_FILE, 'utf8').trim() === hash) {
    return { skipped: true, contracts: [], warnings: [] };
  }
  const solc = require('solc') as Solc;

  const input = {
    language: 'Solidity',
    sources: Object.fromEntries([...sources].map(([p, content]) => [p, { content }])),
    settings: SETTINGS,
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImport })) as SolcOutput;
  const messages = output.errors ?? [];
  const errors = messages.filter((m) => m.severity === 'error');
  if (errors.length > 0) throw new ContractBuildError(errors.map((e) => e.formattedMessage).join('\n'));

  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const names: string[] = [];
  for (const path of sources.keys()) {
    for (const [name, c] of Object.entries(output.contracts?.[path] ?? {})) {
      const bytecode = c.evm.bytecode.object;
      // Interfaces, abstract contracts and internal-only libraries need no artifact.
      if (bytecode.length === 0 || c.abi.length === 0) continue;
      if (names.includes(name)) throw new ContractBuildError(`two contracts are named ${name}; artifact names must be unique`);
      names.push(name);
      writeAtomic(join(ARTIFACTS_DIR, `${name}.json`), `${JSON.stringify({ abi: c.abi, bytecode: `0x${bytecode}` }, null, 2)}\n`);
    }
  }
  writeAtomic(HASH_FILE, `${hash}\n`);
  return {
    skipped: false,
    contracts: names,
    // Warnings about our own sources only (OpenZeppelin's are its maintainers' call).
    warnings: messages
      .filter((m) => m.severity === 'warning' && m.sourceLocation?.file.startsWith('@') !== true)
      .map((m) => m.formattedMessage),
  };
}

function main(): void {
  const force = process.argv.includes('--force');
  try {
    const r = buildContracts({ force });
    for (const w of r.warnings) process.stderr.write(`${w}\n`);
    process.stdout.write(r.skipped ? 'contracts: up to date\n' : `contracts: built ${r.contracts.join(', ')}\n`);
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) main();
