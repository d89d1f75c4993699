import { mnemonicToAccount } from 'viem/accounts';
import { ETH, bytesToHex, type Address } from '../core/index.js';
import { resolveConfig, type NodeConfig } from './config.js';

/** The mnemonic whose first accounts anvil and Hardhat fund; never use it for real funds. */
export const DEV_MNEMONIC = 'test test test test test test test test test test test junk';
export const DEV_BALANCE = 10_000n * 10n ** 18n;

export interface DevAccount {
  readonly address: Address;
  readonly privateKey: `0x${string}`;
}

export function devAccounts(count = 5): DevAccount[] {
  return Array.from({ length: count }, (_, i) => {
    const account = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: i });
    const hd = account.getHdKey();
    return { address: account.address.toLowerCase() as Address, privateKey: bytesToHex(hd.privateKey!) };
  });
}

/**
 * A dev chain: the five dev accounts hold 10,000 ETH each from genesis. (When settlement on L1
 * lands, this balance arrives through real deposits on the bridge instead.)
 */
export function devConfig(overrides: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): NodeConfig {
  return resolveConfig({
    file: {
      genesis: { timestamp: 0, allocations: devAccounts().map((a) => ({ account: a.address, token: ETH, amount: DEV_BALANCE.toString() })) },
    },
    env,
    flags: overrides,
  });
}
