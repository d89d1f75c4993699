import type { LocalAccount } from 'viem';
import { parseAddress, txToJson, type TxJson, type TxMessage, type TxType } from '../core/index.js';
import { EIP712_TYPES, eip712Domain, PRIMARY_TYPE } from '../crypto/index.js';

/** Anything that signs EIP-712 typed data locally: viem's privateKeyToAccount, mnemonicToAccount, ... */
export type SigningAccount = Pick<LocalAccount, 'address' | 'signTypedData'>;

/**
 * Signs with the node's own EIP-712 types and domain (imported, not restated), and returns the
 * wire JSON that POST /v1/txs takes. The signature covers the message only; `from` is the signer.
 */
export async function signTx(account: SigningAccount, chainId: number, type: TxType, message: TxMessage): Promise<TxJson> {
  const signature = await account.signTypedData({
    domain: eip712Domain(chainId),
    types: EIP712_TYPES,
    primaryType: PRIMARY_TYPE[type],
    message: { to: message.to, token: message.token, amount: message.amount, fee: message.fee, nonce: message.nonce },
  });
  return txToJson({ type, from: parseAddress(account.address, 'account.address'), message, signature });
}
