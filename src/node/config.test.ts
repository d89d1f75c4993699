import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_TABLE, ConfigError, readConfigFile, resolveConfig } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'strand-config-'));

describe('node configuration', () => {
  it('reads TOML and JSON, and environment variables override the file', () => {
    const toml = join(dir, 'a.toml');
    writeFileSync(toml, 'port = 9001\nchainId = 77\n[minFees]\n"0x0000000000000000000000000000000000000000" = "5"\n');
    const json = join(dir, 'a.json');
    writeFileSync(json, JSON.stringify({ port: 9002, blockTimeMs: 50 }));
    const fromToml = resolveConfig({ file: readConfigFile(toml), env: { STRAND_CHAIN_ID: '88' } });
    expect([fromToml.port, fromToml.chainId, fromToml.minFees['0x0000000000000000000000000000000000000000']]).toEqual([9001, 88, 5n]);
    const fromJson = resolveConfig({ file: readConfigFile(json), env: {}, flags: { port: 9003 } });
    expect([fromJson.port, fromJson.blockTimeMs]).toEqual([9003, 50]);
  });

  it('names every bad field, and refuses unknown keys and unreadable files', () => {
    const bad = (): void => void resolveConfig({ file: { port: 'abc', chainId: 0, tokens: ['0x12'], surprise: 1 }, env: {} });
    expect(bad).toThrow(ConfigError);
    let message = '';
    try {
      bad();
    } catch (err) {
      message = (err as Error).message;
    }
    for (const field of ['port', 'chainId', 'tokens.0', 'surprise']) expect(message).toContain(field);
    writeFileSync(join(dir, 'broken.toml'), 'port = = 1');
    expect(() => readConfigFile(join(dir, 'broken.toml'))).toThrow(/does not parse/);
    expect(() => readConfigFile(join(dir, 'missing.json'))).toThrow(/cannot read/);
  });

  it('the README documents every configuration key and its environment variable', () => {
    // Docs that drift from the code are how operators end up with settings that silently do nothing.
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const table = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('Example `strand.toml`'));
    const rows = table.split('\n').filter((l) => l.startsWith('|'));
    const missing = CONFIG_TABLE.filter((k) => {
      const row = rows.find((r) => r.split('|')[1]!.split(',').map((c) => c.trim()).includes(k.key));
      return !row || (k.env !== undefined && !row.includes(k.env));
    }).map((k) => k.key);
    expect(missing).toEqual([]);
  });
});
