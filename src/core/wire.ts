import { StrandError } from './errors.js';
import { isHex, type Hex } from './hex.js';
import { TX_TYPES, type SignedTx, type TxMessage, type TxType } from './tx.js';
import { MAX_UINT256, MAX_UINT64, parseAddress, parseUintString, type Address } from './types.js';

/*
 * The JSON wire form of a transaction (ARCHITECTURE.md): integers as decimal strings. The API
 * parses requests with it and the SDK builds them with it, so the two cannot disagree.
 */

export interface TxMessageJson {
  to: string;
  token: string;
  amount: string;
  fee: string;
  nonce: string;
}

export interface TxJson {
  type: TxType;
  from: string;
  message: TxMessageJson;
  signature: string;
}

export function txMessageToJson(m: TxMessage): TxMessageJson {
  return { to: m.to, token: m.token, amount: m.amount.toString(), fee: m.fee.toString(), nonce: m.nonce.toString() };
}

export function txToJson(tx: Omit<SignedTx, 'hash'>): TxJson {
  return { type: tx.type, from: tx.from, message: txMessageToJson(tx.message), signature: tx.signature };
}

const MESSAGE_FIELDS = ['to', 'token', 'amount', 'fee', 'nonce'] as const;
const TX_FIELDS = ['type', 'from', 'message', 'signature'] as const;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkFields(obj: Record<string, unknown>, fields: readonly string[], where: string): void {
  for (const f of fields) {
    if (!(f in obj)) throw new StrandError('INVALID_REQUEST', `${where}${f} is required`, { field: `${where}${f}` });
  }
  for (const k of Object.keys(obj)) {
    if (!fields.includes(k)) throw new StrandError('INVALID_REQUEST', `${where}${k} is not a known field`, { field: `${where}${k}` });
  }
}



/**
 * Parses the wire form into a typed transaction, or throws StrandError with the code of the
 * first problem. Does not check the signature: that needs the chain id and is the node's job.
 */
export function txFromJson(input: unknown): Omit<SignedTx, 'hash'> {
  if (!isRecord(input)) throw new StrandError('INVALID_REQUEST', 'transaction must be a JSON object');
  checkFields(input, TX_FIELDS, '');
  const type = input.type;
  if (typeof type !== 'string' || !(TX_TYPES as readonly string[]).includes(type)) {
    throw new StrandError('INVALID_REQUEST', `type must be one of ${TX_TYPES.join(', ')}`, { field: 'type' });
  }
  const from: Address = parseAddress(input.from, 'from');
  const m = input.message;
  if (!isRecord(m)) throw new StrandError('INVALID_REQUEST', 'message must be an object', { field: 'message' });
  checkFields(m, MESSAGE_FIELDS, 'message.');
  const message: TxMessage = {
    to: parseAddress(m.to, 'message.to'),
    token: parseAddress(m.token, 'message.token'),
    amount: parseUintString(m.amount, 'message.amount', MAX_UINT256),
    fee: parseUintString(m.fee, 'message.fee', MAX_UINT256),
    nonce: parseUintString(m.nonce, 'message.nonce', MAX_UINT64),
  };
  const signature = input.signature;
  if (!isHex(signature) || signature.length !== 132) {
    throw new StrandError('INVALID_SIGNATURE', 'signature must be 65 bytes of 0x hex (r || s || v)', { field: 'signature' });
  }
  return { type: type as TxType, from, message, signature: signature.toLowerCase() as Hex };
}
