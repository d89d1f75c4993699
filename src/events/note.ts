import { sha256 } from '../merkle/index.js';
import { ed25519Sign, ed25519Verify, publicKeyOf } from './ed25519.js';

/*
 * C2SP signed-note (https://c2sp.org/signed-note) with Ed25519 keys, and the C2SP
 * tlog-checkpoint body (https://c2sp.org/tlog-checkpoint) that Strand's event log signs.
 */

const ALG_ED25519 = 0x01;
const utf8 = new TextEncoder();
const SIG_PREFIX = '\u2014 ';

export class NoteError extends Error {
  override readonly name = 'NoteError';
}

function validKeyName(name: string): boolean {
  return name.length > 0 && !/[\s+]/u.test(name) && !/\p{C}/u.test(name);
}

/** key ID = SHA-256(name || 0x0A || 0x01 || public key)[:4], per signed-note. */
export function noteKeyId(name: string, publicKey: Uint8Array): Uint8Array {
  return sha256(utf8.encode(name), new Uint8Array([0x0a, ALG_ED25519]), publicKey).slice(0, 4);
}

export interface NoteVerifier {
  readonly name: string;
  readonly keyId: Uint8Array;
  readonly publicKey: Uint8Array;
}

/** `<name>+<hex key ID>+<base64(0x01 || public key)>`. */
export function formatVerifierKey(name: string, publicKey: Uint8Array): string {
  if (!validKeyName(name)) throw new NoteError('invalid key name');
  const hex = Buffer.from(noteKeyId(name, publicKey)).toString('hex');
  return `${name}+${hex}+${Buffer.from([ALG_ED25519, ...publicKey]).toString('base64')}`;
}

export function parseVerifierKey(vkey: string): NoteVerifier {
  const first = vkey.indexOf('+');
  const second = vkey.indexOf('+', first + 1);
  if (first <= 0 || second < 0) throw new NoteError('malformed verifier key');
  const name = vkey.slice(0, first);
  const idHex = vkey.slice(first + 1, second);
  const b64 = vkey.slice(second + 1);
  if (!validKeyName(name) || !/^[0-9a-f]{8}$/.test(idHex)) throw new NoteError('malformed verifier key');
  const raw = Buffer.from(b64, 'base64');
  // Round-trip check: Node's decoder ignores junk that a strict decoder refuses.
  if (raw.toString('base64') !== b64 || raw.length !== 33 || raw[0] !== ALG_ED25519) throw new NoteError('verifier key is not an Ed25519 key');
  const publicKey = new Uint8Array(raw.subarray(1));
  const keyId = noteKeyId(name, publicKey);
  if (Buffer.from(keyId).toString('hex') !== idHex) throw new NoteError('verifier key ID does not match the key');
  return { name, keyId, publicKey };
}

export interface NoteSigner {
  readonly name: string;
  readonly seed: Uint8Array;
}

/** Appends one signature line to a note text (which must end in a newline). */
export function signNote(text: string, signer: NoteSigner): string {
  if (!text.endsWith('\n')) throw new NoteError('note text must end with a newline');
  const pub = publicKeyOf(signer.seed);
  const sig = ed25519Sign(signer.seed, utf8.encode(text));
  const blob = Buffer.concat([noteKeyId(signer.name, pub), sig]).toString('base64');
  return `${text}\n${SIG_PREFIX}${signer.name} ${blob}\n`;
}

export interface OpenedNote {
  readonly text: string;
  /** Names of the given verifiers whose signatures verified. */
  readonly verifiedBy: readonly string[];
}

/**
 * Splits a signed note and checks the signatures of the known verifiers; signatures of unknown
 * keys are skipped, as the spec requires. Throws unless at least one known key signed it.
 */
export function openNote(note: string, verifiers: readonly NoteVerifier[]): OpenedNote {
  const split = note.lastIndexOf('\n\n');
  if (split < 0 || !note.endsWith('\n')) throw new NoteError('malformed note');
  const text = note.slice(0, split + 1);
  const lines = note.slice(split + 2, -1).split('\n');
  const verifiedBy: string[] = [];
  for (const line of lines) {
    if (!line.startsWith(SIG_PREFIX)) throw new NoteError('malformed signature line');
    const rest = line.slice(SIG_PREFIX.length);
    const space = rest.lastIndexOf(' ');
    if (space <= 0) throw new NoteError('malformed signature line');
    const name = rest.slice(0, space);
    const blob = Buffer.from(rest.slice(space + 1), 'base64');
    if (blob.length < 5) throw new NoteError('malformed signature');
    const v = verifiers.find((k) => k.name === name && Buffer.from(k.keyId).equals(blob.subarray(0, 4)));
    if (!v) continue;
    if (!ed25519Verify(v.publicKey, utf8.encode(text), new Uint8Array(blob.subarray(4)))) throw new NoteError(`invalid signature by ${name}`);
    if (!verifiedBy.includes(name)) verifiedBy.push(name);
  }
  if (verifiedBy.length === 0) throw new NoteError('no signature by a known key');
  return { text, verifiedBy };
}

export interface Checkpoint {
  readonly origin: string;
  readonly size: number;
  readonly root: Uint8Array;
  readonly extensions: readonly string[];
}

export function formatCheckpoint(c: Checkpoint): string {
  return `${c.origin}\n${c.size}\n${Buffer.from(c.root).toString('base64')}\n${c.extensions.map((e) => `${e}\n`).join('')}`;
}

export function parseCheckpoint(text: string): Checkpoint {
  const lines = text.split('\n');
  if (lines.length < 4 || lines[lines.length - 1] !== '') throw new NoteError('malformed checkpoint');
  const [origin, sizeText, rootB64] = lines as [string, string, string];
  if (origin.length === 0 || !/^(0|[1-9][0-9]*)$/.test(sizeText)) throw new NoteError('malformed checkpoint');
  const size = Number(sizeText);
  const root = Buffer.from(rootB64, 'base64');
  if (!Number.isSafeInteger(size) || root.length !== 32 || root.toString('base64') !== rootB64) throw new NoteError('malformed checkpoint');
  return { origin, size, root: new Uint8Array(root), extensions: lines.slice(3, -1) };
}

/** Opens a signed checkpoint with the log's verifier key and checks its origin. */
export function verifyCheckpoint(note: string, vkey: NoteVerifier, origin = vkey.name): Checkpoint {
  const { text } = openNote(note, [vkey]);
  const cp = parseCheckpoint(text);
  if (cp.origin !== origin) throw new NoteError(`checkpoint origin ${cp.origin} is not ${origin}`);
  return cp;
}
