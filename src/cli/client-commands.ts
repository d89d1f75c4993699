import { Command, InvalidArgumentError, Option } from 'commander';
import { createPublicClient, createWalletClient, defineChain, http, parseEther, type PublicClient } from 'viem';
import type { Address } from '../core/index.js';
import { privateKeyToAccount } from 'viem/accounts';
import { deployContracts, devAccounts } from '../node/index.js';
import { StrandClient, deposit, finalizeWithdrawal, verifyAccountProof, verifyHeader, type WantedStatus } from '../sdk/index.js';

const DEFAULT_API = 'http://127.0.0.1:8547';

/** `123` is in the token's smallest unit; `1.5eth` is in ether (18 decimals). */
export function parseAmount(value: string): bigint {
  const v = value.trim().toLowerCase();
  try {
    if (v.endsWith('eth')) return parseEther(v.slice(0, -3));
    if (/^(0|[1-9][0-9]*)$/.test(v)) return BigInt(v);
  } catch {
    // fall through to the error below
  }
  throw new InvalidArgumentError('must be an integer in the smallest unit (e.g. 1000) or ether with a suffix (e.g. 1.5eth)');
}

function parseIntArg(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a non-negative integer');
  return n;
}

const apiOption = (): Option => new Option('--api <url>', 'node API URL').env('STRAND_API').default(DEFAULT_API);

function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`);
}

interface TxOpts {
  api: string;
  to: string;
  amount: bigint;
  token?: string;
  fee?: bigint;
  nonce?: bigint;
  privateKey?: string;
  devAccount?: number;
  wait: WantedStatus | 'none';
  timeout: number;
}

function signer(opts: { privateKey?: string; devAccount?: number }) {
  if (opts.privateKey) return privateKeyToAccount(opts.privateKey as `0x${string}`);
  if (opts.devAccount !== undefined) {
    const dev = devAccounts(10)[opts.devAccount];
    if (!dev) throw new InvalidArgumentError('--dev-account must be 0..9');
    return privateKeyToAccount(dev.privateKey);
  }
  throw new InvalidArgumentError('give --private-key (or STRAND_PRIVATE_KEY) or --dev-account N');
}

function txCommand(type: 'transfer' | 'withdraw'): Command {
  return new Command(type)
    .description(type === 'transfer' ? 'sign and send an L2 transfer' : 'sign and send a withdrawal to an L1 address')
    .requiredOption('--to <address>', type === 'transfer' ? 'recipient on L2' : 'recipient on L1')
    .requiredOption('--amount <amount>', 'amount: smallest unit, or ether with an "eth" suffix', parseAmount)
    .option('--token <address>', 'L1 token address (default ETH)')
    .option('--fee <amount>', 'fee (default: the node\'s minimum for the token)', parseAmount)
    .option('--nonce <n>', 'nonce (default: the account\'s next)', (v) => BigInt(parseIntArg(v)))
    .addOption(new Option('--private-key <hex>', 'signing key').env('STRAND_PRIVATE_KEY'))
    .option('--dev-account <n>', 'sign with dev account N of the test mnemonic', parseIntArg)
    .addOption(new Option('--wait <status>', 'wait until this status').choices(['none', 'sequenced', 'posted', 'finalized']).default('sequenced'))
    .option('--timeout <ms>', 'how long --wait waits', parseIntArg, 60_000)
    .addOption(apiOption())
    .action(async (opts: TxOpts) => {
      const client = new StrandClient({ url: opts.api });
      const account = signer(opts);
      const params = {
        account,
        to: opts.to,
        amount: opts.amount,
        ...(opts.token ? { token: opts.token } : {}),
        ...(opts.fee !== undefined ? { fee: opts.fee } : {}),
        ...(opts.nonce !== undefined ? { nonce: opts.nonce } : {}),
      };
      const sent = type === 'transfer' ? await client.transfer(params) : await client.withdraw(params);
      process.stdout.write(`${type} ${sent.hash} ${sent.status}\n`);
      if (opts.wait === 'none') return;
      const tx = await client.waitFor(sent.hash, opts.wait, { timeoutMs: opts.timeout });
      process.stdout.write(`${tx.status} in block ${tx.blockNumber} at index ${tx.index}\n`);
    });
}

export function registerClientCommands(program: Command): void {
  program
    .command('status')
    .description('show a node\'s chain id, heads, role, fees and signature backend')
    .addOption(apiOption())
    .action(async (opts: { api: string }) => {
      print(await new StrandClient({ url: opts.api }).status());
    });

  program
    .command('account <address>')
    .description('show an account\'s nonce and balances; --proof verifies them locally against the block\'s state root')
    .option('--proof', 'fetch and verify a Merkle proof')
    .option('--block <n>', 'read the state of an earlier block', parseIntArg)
    .addOption(apiOption())
    .action(async (address: string, opts: { api: string; proof?: boolean; block?: number }) => {
      const client = new StrandClient({ url: opts.api });
      const account = await client.getAccount(address, { proof: opts.proof ?? false, ...(opts.block !== undefined ? { block: opts.block } : {}) });
      print(opts.proof ? { ...account, proof: undefined } : account);
      if (!opts.proof) return;
      const block = await client.getBlock(account.blockNumber);
      const headerOk = verifyHeader(block.header);
      const proofOk = headerOk && block.header.stateRoot === account.stateRoot && verifyAccountProof(account, { stateRoot: block.header.stateRoot });
      process.stdout.write(`proof ${proofOk ? 'verified' : 'FAILED'} against state root ${account.stateRoot} of block ${account.blockNumber} (signed by ${block.header.sequencer})\n`);
      if (!proofOk) process.exitCode = 1;
    });

  const l1Clients = async (opts: { l1Rpc: string; privateKey?: string; devAccount?: number }) => {
    const account = signer(opts);
    const transport = http(opts.l1Rpc);
    const publicClient = createPublicClient({ transport });
    const chain = defineChain({ id: await publicClient.getChainId(), name: 'L1', nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [opts.l1Rpc] } } });
    return { wallet: createWalletClient({ account, chain, transport }), publicClient: createPublicClient({ chain, transport }) as PublicClient };
  };
  const l1Option = (): Option => new Option('--l1-rpc <url>', 'L1 JSON-RPC URL').env('STRAND_L1_RPC').default('http://127.0.0.1:8545');
  const keyOptions = (cmd: Command): Command =>
    cmd.addOption(new Option('--private-key <hex>', 'L1 signing key').env('STRAND_PRIVATE_KEY')).option('--dev-account <n>', 'sign with dev account N of the test mnemonic', parseIntArg);

  keyOptions(
    program
      .command('deploy')
      .description('deploy the L1 contracts of a new chain (output oracle, batch inbox, portal; immutable, no owner) and print the config keys of its nodes')
      .addOption(l1Option())
      .requiredOption('--proposer <address>', 'the only account that may propose outputs (bonded)')
      .requiredOption('--challenger <address>', 'the only account that may delete outputs inside their challenge period')
      .requiredOption('--batcher <address>', 'the only account that may post batches')
      .option('--challenge-period <seconds>', 'how long an output can be challenged before withdrawals against it pay out (default 7 days)', parseIntArg, 7 * 24 * 3600)
      .option('--bond <amount>', 'bond per output (e.g. 0.1eth)', parseAmount, 10n ** 17n),
  ).action(async (opts: { l1Rpc: string; privateKey?: string; devAccount?: number; proposer: string; challenger: string; batcher: string; challengePeriod: number; bond: bigint }) => {
    const clients = await l1Clients(opts);
    const d = await deployContracts(clients, {
      proposer: opts.proposer as `0x${string}`,
      challenger: opts.challenger as `0x${string}`,
      batcher: opts.batcher as `0x${string}`,
      challengePeriodSeconds: BigInt(opts.challengePeriod),
      bond: opts.bond,
    });
    process.stderr.write(`deployed on L1 chain ${await clients.publicClient.getChainId()} (challenge period ${opts.challengePeriod} s, bond ${opts.bond} wei)\n`);
    process.stdout.write(
      [
        '# config keys for the nodes of this chain (strand node --config)',
        `l1Rpc = ["${opts.l1Rpc}"]`,
        `portal = "${d.portal}"`,
        `oracle = "${d.oracle}"`,
        `inbox = "${d.inbox}"`,
        `l1StartBlock = ${d.deployBlock}`,
        `outputBond = "${opts.bond}"`,
        '',
      ].join('\n'),
    );
  });

  keyOptions(
    program
      .command('deposit')
      .description('deposit ETH or an ERC-20 into the L1 portal; it is credited on L2 after the confirmations')
      .requiredOption('--amount <amount>', 'amount: smallest unit, or ether with an "eth" suffix', parseAmount)
      .option('--token <address>', 'L1 token address (default ETH)')
      .option('--to <address>', 'recipient on L2 (default: the sender)')
      .addOption(l1Option())
      .addOption(apiOption()),
  ).action(async (opts: { amount: bigint; token?: string; to?: string; l1Rpc: string; api: string; privateKey?: string; devAccount?: number }) => {
    const status = await new StrandClient({ url: opts.api }).status();
    const portal = status.contracts.portal;
    if (!portal) throw new InvalidArgumentError(`the node at ${opts.api} does not follow an L1 portal`);
    const clients = await l1Clients(opts);
    const to = (opts.to ?? clients.wallet.account.address).toLowerCase() as Address;
    const hash = await deposit(clients, portal, { to, amount: opts.amount, ...(opts.token ? { token: opts.token.toLowerCase() as Address } : {}) });
    process.stdout.write(`deposited on L1 in ${hash}; credited to ${to} on L2 after ${status.l1ChainId === null ? 'the' : 'its'} confirmations\n`);
  });

  const withdraw = program.command('withdraw').description('follow and finalize withdrawals on L1');
  withdraw
    .command('status <l2TxHash>')
    .description('where a withdrawal stands, and when it becomes finalizable')
    .addOption(apiOption())
    .action(async (hash: string, opts: { api: string }) => {
      print(await new StrandClient({ url: opts.api }).getWithdrawal(hash));
    });
  keyOptions(
    withdraw
      .command('finalize <l2TxHash>')
      .description('pay out a withdrawal on L1 with the proof from the node, once its output is final')
      .addOption(l1Option())
      .addOption(apiOption()),
  ).action(async (hash: string, opts: { l1Rpc: string; api: string; privateKey?: string; devAccount?: number }) => {
    const w = await new StrandClient({ url: opts.api }).getWithdrawal(hash);
    const l1Tx = await finalizeWithdrawal(await l1Clients(opts), w);
    process.stdout.write(`finalized on L1 in ${l1Tx}: ${w.withdrawal.amount} of token ${w.withdrawal.token} paid to ${w.withdrawal.to}\n`);
  });

  const tx = program.command('tx').description('sign, send and inspect transactions');
  tx.addCommand(txCommand('transfer'));
  tx.addCommand(txCommand('withdraw'));
  tx.command('get <hash>')
    .description('show a transaction, its status and its inclusion proof')
    .addOption(apiOption())
    .action(async (hash: string, opts: { api: string }) => {
      print(await new StrandClient({ url: opts.api }).getTx(hash));
    });
}
