import { Command, InvalidArgumentError } from 'commander';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ETH } from '../core/index.js';
import {
  ConfigError,
  CONFIG_TABLE,
  DEV_L1_DEPOSIT_ETH,
  DEV_L1_DEPOSIT_TOKEN,
  DEV_L1_OUTPUT_BOND,
  DEV_L1_CHALLENGE_PERIOD_S,
  devAccounts,
  devConfig,
  ensureDevAdminKey,
  ensureDevSecretsPassword,
  readConfigFile,
  resolveConfig,
  startDevL1,
  type StrandNode,
  VerifierNode,
  waitForL1Queue,
} from '../node/index.js';
import { runServiceUntilSignal, runUntilSignal } from './run-node.js';
import { registerClientCommands } from './client-commands.js';
import { registerClusterCommands } from './cluster.js';
import { registerAdminCommands, registerKeysCommands, signerStorePassword } from './keys-commands.js';

function int(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a non-negative integer');
  return n;
}

/** One write, so that a reader that waits for the API line has the whole banner. */
function printDevBanner(url: string, chainId: number, dataDir: string, sequencer: string, accounts: ReturnType<typeof devAccounts>, funding: string, extra: readonly string[] = []): void {
  const lines = [
    '',
    'Strand dev node is ready',
    `  API       ${url}   (docs: ${url}/docs)`,
    `  chain id  ${chainId}`,
    `  data dir  ${dataDir}`,
    `  sequencer ${sequencer}`,
    '',
    `Funded accounts (${funding}; mnemonic "test test … junk"):`,
    ...accounts.map((a, i) => `  (${i}) ${a.address}  key ${a.privateKey}`),
    '',
    ...extra,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

/**
 * The dev admin key: printed once, on the start that creates it; later starts only say where it
 * is, so that a restarted dev node does not put a secret in every terminal scrollback.
 */
function devAdminKeyHook(): { beforeReady: (node: StrandNode) => Promise<void>; banner: () => string[] } {
  let lines: string[] = [];
  return {
    beforeReady: async (node) => {
      const r = await ensureDevAdminKey(node.config.dataDir, node.apiKeys);
      lines = r.created
        ? ['Admin API key (admin scope; shown once, also saved with mode 0600 to ' + r.path + '):', `  ${r.created}`, '']
        : node.apiKeys
          ? [`Admin API key: in ${r.path}`, '']
          : [];
    },
    banner: () => lines,
  };
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
  .description('run a dev chain: a dev L1 (anvil) with the contracts, and one sequencer whose five dev accounts are funded by real deposits')
  .option('--port <port>', 'API port', int)
  .option('--host <host>', 'API listen address')
  .option('--data-dir <dir>', 'data directory (a restart on the same directory resumes the chain)')
  .option('--block-time <ms>', 'block time in milliseconds', int)
  .option('--chain-id <id>', 'L2 chain id', int)
  .option('--l1', 'settle on a dev L1 (the default): start anvil, deploy the contracts, fund the dev accounts by real deposits')
  .option('--no-l1', 'no L1: fund the dev accounts at genesis and settle nowhere (load tests, benchmarks)')
  .option('--l1-rpc <url>', 'use this L1 chain instead of starting anvil')
  .option('--l1-port <port>', 'port of the anvil it starts', int, 8545)
  .option('--l1-confirmations <n>', 'L1 confirmations before a deposit is credited', int, 1)
  .option('--blobs', 'post batches as EIP-4844 blobs (the dev anvil supports them; KZG runs on a worker thread)')
  .option('--challenge-period <seconds>', 'challenge period of the output oracle it deploys (fixed at deployment: a restart keeps the first value)', int, DEV_L1_CHALLENGE_PERIOD_S)
  .option('--challenger', 'also run a challenger (in this process, API on the next port, data in <data-dir>/challenger): a verifier that plays dispute games with dev account 6')
  .addHelpText('after', configHelp)
  .action(async (opts: { port?: number; host?: string; dataDir?: string; blockTime?: number; chainId?: number; l1?: boolean; l1Rpc?: string; l1Port: number; l1Confirmations: number; challengePeriod: number; blobs?: boolean; challenger?: boolean }) => {
    const flags = nodeFlags(opts);
    const accounts = devAccounts();
    const dataDirOf = devConfig(flags).dataDir;
    if (!process.env.STRAND_SECRETS_PASSWORD && !process.env.STRAND_SECRETS_PASSWORD_FILE) {
      mkdirSync(dataDirOf, { recursive: true });
      flags.secretsPasswordFile = await ensureDevSecretsPassword(dataDirOf);
    }
    const adminKey = devAdminKeyHook();
    const settles = existsSync(join(dataDirOf, 'l1-deployment.json'));
    const hasChain = existsSync(join(dataDirOf, 'chain'));
    if (opts.l1 === false) {
      if (settles) throw new ConfigError(`${dataDirOf} holds a chain that settles on a dev L1: run without --no-l1, or use another --data-dir`);
      const config = devConfig(flags);
      await runUntilSignal(config, (node) => printDevBanner(node.url, config.chainId, config.dataDir, node.sequencerAddress, accounts, '10000 ETH each, from the dev genesis', adminKey.banner()), {
        beforeReady: adminKey.beforeReady,
      });
      return;
    }
    const dataDir = dataDirOf;
    if (hasChain && !settles) throw new ConfigError(`${dataDir} holds a chain funded at genesis (started with --no-l1): add --no-l1, or use another --data-dir`);
    mkdirSync(dataDir, { recursive: true });
    process.stdout.write(`starting the dev L1${opts.l1Rpc ? ` at ${opts.l1Rpc}` : ` (anvil on port ${opts.l1Port})`}…\n`);
    const base = devConfig(flags);
    const l1 = await startDevL1({ dataDir, ...(opts.l1Rpc ? { l1Rpc: opts.l1Rpc } : {}), l1Port: opts.l1Port, challengePeriodSeconds: opts.challengePeriod, chainId: base.chainId, sequencingWindow: base.sequencingWindow, ...(base.sequencerKeyFile ? { sequencerKeyFile: base.sequencerKeyFile } : {}) });
    let challenger: VerifierNode | null = null;
    const config = devConfig({
      ...flags,
      genesis: { timestamp: 0, allocations: [] },
      tokens: [ETH, l1.token],
      l1Rpc: [l1.rpcUrl],
      portal: l1.deployment.portal,
      inbox: l1.deployment.inbox,
      batcherKey: devAccounts(8)[7]!.privateKey,
      batchMaxDelayMs: 2_000,
      oracle: l1.deployment.oracle,
      proposerKey: devAccounts(8)[5]!.privateKey,
      outputIntervalBlocks: 1,
      outputBond: DEV_L1_OUTPUT_BOND.toString(),
      l1StartBlock: Number(l1.deployment.deployBlock),
      l1Confirmations: opts.l1Confirmations,
      l1PollMs: 200,
      // Event checkpoints anchored by dev account 8, every few seconds while the log grows.
      eventAnchor: l1.eventAnchor,
      eventAnchorKey: devAccounts(9)[8]!.privateKey,
      eventAnchorIntervalMs: 3_000,
      eventAnchorConfirmations: 1,
      ...(opts.blobs ? { batchDataMode: 'auto' } : {}),
    });
    await runUntilSignal(
      config,
      (node) => {
        printDevBanner(node.url, config.chainId, config.dataDir, node.sequencerAddress, accounts, `${DEV_L1_DEPOSIT_ETH / 10n ** 18n} ETH and ${DEV_L1_DEPOSIT_TOKEN / 10n ** 18n} STT each, deposited through the portal`, [
            `L1 (dev)`,
            `  RPC       ${l1.rpcUrl}`,
            `  portal    ${l1.deployment.portal}`,
            `  oracle    ${l1.deployment.oracle}  (outputs proposed by dev account 5; challenge period ${l1.challengePeriodSeconds} s)`,
            `  inbox     ${l1.deployment.inbox}  (batches posted by dev account 7)`,
            `  token STT ${l1.token}`,
            `  anchor    ${l1.eventAnchor}  (event checkpoints anchored by dev account 8)`,
            '',
            'Check it from L1 alone with a verifier:',
            `  npx strand node --role verifier --l1-rpc ${l1.rpcUrl} --portal ${l1.deployment.portal} --fee-recipient ${node.sequencerAddress} --tokens ${ETH},${l1.token} --l1-confirmations 1 --data-dir ${dataDir}-verifier --port 8548`,
            '',
            ...adminKey.banner(),
            ...(challenger ? ['', `Challenger (dev account 6, plays dispute games): API ${challenger.url}`] : []),
          ]);
      },
      {
        beforeReady: async (node) => {
          await adminKey.beforeReady(node);
          await waitForL1Queue(node.store, l1.rpcUrl, l1.deployment.portal);
          if (opts.challenger) {
            // In this process: one Ctrl-C stops both, and the dev chain needs no second command.
            challenger = await VerifierNode.start(
              resolveConfig({
                env: {},
                flags: {
                  role: 'challenger',
                  dataDir: join(dataDir, 'challenger'),
                  host: config.host,
                  port: config.port === 0 ? 0 : config.port + 1,
                  chainId: config.chainId,
                  tokens: config.tokens,
                  feeRecipient: node.sequencerAddress,
                  l1Rpc: [l1.rpcUrl],
                  portal: l1.deployment.portal,
                  l1Confirmations: opts.l1Confirmations,
                  l1PollMs: 200,
                  challengerKey: devAccounts(8)[6]!.privateKey,
                  logLevel: config.logLevel,
                },
              }),
            );
          }
        },
        afterStop: async () => {
          await challenger?.stop();
          await l1.stop();
        },
      },
    );
  });

program
  .command('node')
  .description('run a node: a sequencer (from a config file, TOML or JSON) or a verifier that derives the chain from L1 alone')
  .option('--config <file>', 'config file (.toml or .json)')
  .option('--role <role>', 'sequencer | verifier | challenger (a verifier that plays dispute games with STRAND_CHALLENGER_KEY)')
  .option('--l1-rpc <urls>', 'L1 JSON-RPC URLs, comma-separated (failover in order)')
  .option('--portal <address>', 'the StrandPortal on L1 (a verifier finds the other contracts from it)')
  .option('--fee-recipient <address>', 'the sequencer\'s fee recipient (its address unless configured): state roots depend on it')
  .option('--l1-confirmations <n>', 'L1 confirmations before a block is read', int)
  .option('--tokens <addresses>', 'L1 token addresses accepted on L2, comma-separated (the zero address is ETH); must equal the sequencer\'s')
  .option('--port <port>', 'API port', int)
  .option('--host <host>', 'API listen address')
  .option('--data-dir <dir>', 'data directory')
  .addHelpText('after', configHelp)
  .action(async (opts: { config?: string; role?: string; l1Rpc?: string; portal?: string; feeRecipient?: string; l1Confirmations?: number; tokens?: string; port?: number; dataDir?: string; host?: string }) => {
    const flags = nodeFlags(opts);
    if (opts.role !== undefined) flags.role = opts.role;
    if (opts.l1Rpc !== undefined) flags.l1Rpc = opts.l1Rpc.split(',').map((u) => u.trim()).filter(Boolean);
    if (opts.portal !== undefined) flags.portal = opts.portal;
    if (opts.feeRecipient !== undefined) flags.feeRecipient = opts.feeRecipient;
    if (opts.l1Confirmations !== undefined) flags.l1Confirmations = opts.l1Confirmations;
    if (opts.tokens !== undefined) flags.tokens = opts.tokens.split(',').map((t) => t.trim()).filter(Boolean);
    const config = resolveConfig({ ...(opts.config ? { file: readConfigFile(opts.config) } : {}), env: process.env, flags });
    if (config.role === 'verifier' || config.role === 'challenger') {
      if (config.l1Rpc.length === 0 || !config.portal || !config.feeRecipient) {
        throw new ConfigError(`a ${config.role} needs --l1-rpc, --portal and --fee-recipient (or l1Rpc, portal and feeRecipient in its config)`);
      }
      if (config.role === 'challenger' && !config.challengerKey && !config.challengerSigner) {
        throw new ConfigError('a challenger needs its L1 key: STRAND_CHALLENGER_KEY or STRAND_CHALLENGER_SIGNER (file:, secret: or pkcs11:; challengerKey or challengerSigner in its config)');
      }
      const secretsPassword = config.role === 'challenger' ? await signerStorePassword(config) : undefined;
      await runServiceUntilSignal(
        () => VerifierNode.start(config, secretsPassword ? { secretsPassword } : {}),
        (v) => process.stdout.write(`Strand ${config.role} ready: API ${v.url} (chain id ${config.chainId}, portal ${v.deployment.portal}, inbox ${v.deployment.inbox}, oracle ${v.deployment.oracle}${v.challenger ? `, challenger ${v.challenger.account}` : ''})\n`),
      );
      return;
    }
    if (!opts.config) throw new ConfigError('a sequencer node needs --config <file>');
    const secretsPassword = await signerStorePassword(config);
    await runUntilSignal(
      config,
      (node) => {
        const member = config.cluster ? `, cluster member ${config.cluster.id} of ${config.cluster.peers.length}` : '';
        process.stdout.write(`Strand node ready: API ${node.url} (chain id ${config.chainId}, sequencer ${node.sequencerAddress}${member})\n`);
      },
      {},
      secretsPassword ? { secretsPassword } : {},
    );
  });

registerClientCommands(program);
registerClusterCommands(program);
registerKeysCommands(program);
registerAdminCommands(program);

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
