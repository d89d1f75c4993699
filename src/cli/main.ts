import { Command, InvalidArgumentError } from 'commander';
import { ConfigError, CONFIG_TABLE, devAccounts, devConfig, readConfigFile, resolveConfig } from '../node/index.js';
import { runUntilSignal } from './run-node.js';
import { registerClientCommands } from './client-commands.js';

function int(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a non-negative integer');
  return n;
}

function nodeFlags(opts: { port?: number; dataDir?: string; blockTime?: number; chainId?: number; host?: string }): Record<string, unknown> {
  const flags: Record<string, unknown> = {};
  if (opts.port !== undefined) flags.port = opts.port;
  if (opts.dataDir !== undefined) flags.dataDir = opts.dataDir;
  if (opts.blockTime !== undefined) flags.blockTimeMs = opts.blockTime;
  if (opts.chainId !== undefined) flags.chainId = opts.chainId;
  if (opts.host !== undefined) flags.host = opts.host;
  return flags;
}

const program = new Command()
  .name('strand')
  .description('Strand: a Layer-2 rollup node')
  .showHelpAfterError();

const configHelp = `\nConfiguration keys (file < environment < flags):\n${CONFIG_TABLE.map((k) => `  ${k.key.padEnd(18)} ${(k.env ?? '').padEnd(26)} ${k.description}`).join('\n')}\n`;

program
  .command('dev')
  .description('run a single-node dev chain whose five dev accounts start funded')
  .option('--port <port>', 'API port', int)
  .option('--host <host>', 'API listen address')
  .option('--data-dir <dir>', 'data directory (a restart on the same directory resumes the chain)')
  .option('--block-time <ms>', 'block time in milliseconds', int)
  .option('--chain-id <id>', 'L2 chain id', int)
  .addHelpText('after', configHelp)
  .action(async (opts) => {
    const config = devConfig(nodeFlags(opts));
    await runUntilSignal(config, (node) => {
      const accounts = devAccounts();
      const lines = [
        '',
        'Strand dev node is ready',
        `  API       ${node.url}   (docs: ${node.url}/docs)`,
        `  chain id  ${config.chainId}`,
        `  data dir  ${config.dataDir}`,
        `  sequencer ${node.sequencerAddress}`,
        '',
        'Funded accounts (10000 ETH each, from the mnemonic "test test … junk"):',
        ...accounts.map((a, i) => `  (${i}) ${a.address}  key ${a.privateKey}`),
        '',
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });
  });

program
  .command('node')
  .description('run a sequencer node from a config file (TOML or JSON)')
  .requiredOption('--config <file>', 'config file (.toml or .json)')
  .option('--port <port>', 'API port', int)
  .option('--host <host>', 'API listen address')
  .option('--data-dir <dir>', 'data directory')
  .addHelpText('after', configHelp)
  .action(async (opts: { config: string; port?: number; dataDir?: string; host?: string }) => {
    const config = resolveConfig({ file: readConfigFile(opts.config), env: process.env, flags: nodeFlags(opts) });
    await runUntilSignal(config, (node) => {
      process.stdout.write(`Strand node ready: API ${node.url}, chain id ${config.chainId}, sequencer ${node.sequencerAddress}\n`);
    });
  });

registerClientCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`strand: ${err.message}\n`);
    process.exit(2);
  }
  const code = (err as { code?: unknown }).code;
  process.stderr.write(`strand: ${typeof code === 'string' && /^[A-Z_]+$/.test(code) ? `${code}: ` : ''}${(err as Error).message}\n`);
  process.exit(1);
}
