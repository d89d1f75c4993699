export { canonicalJson, type JsonValue } from './jcs.js';
export {
  parseVesEvent,
  vesEventToJson,
  eventSigningHash,
  payloadPlainHashOf,
  receiptHash,
  encodeEventLeaf,
  decodeEventLeaf,
  parseUuid,
  parseHexBytes,
  isUuid,
  hex0x,
  ZERO_HASH,
  LIMITS,
  type Uuid,
  type VesEvent,
  type SignedFields,
  type LeafFields,
} from './ves.js';
export { ed25519Sign, ed25519Verify, publicKeyObject, publicKeyOf, randomSeed } from './ed25519.js';
export {
  noteKeyId,
  formatVerifierKey,
  parseVerifierKey,
  signNote,
  openNote,
  formatCheckpoint,
  parseCheckpoint,
  verifyCheckpoint,
  NoteError,
  type Checkpoint,
  type NoteVerifier,
} from './note.js';
export { TiledTree, appendToTiles, TILE_WIDTH, TILE_HEIGHT, type TileReader } from './tree.js';
export { EventStore, type AgentKeyRecord, type TenantRecord, type SchemaRecord, type SchemaSubject } from './store.js';
export {
  EventService,
  MAX_EVENT_BATCH,
  type EventReceipt,
  type IngestOutcome,
  type StoredEventView,
  type EventServiceOptions,
  type SchemaVersionView,
} from './service.js';
export {
  parseEventSchema,
  compile as compileEventSchema,
  compatibilityBreaks,
  readerIncompatibilities,
  applyDefaults,
  COMPATIBILITY_MODES,
  JSON_TYPES,
  MAX_SCHEMA_BYTES,
  type CompatibilityMode,
  type EventSchema,
  type EventSchemaValidator,
  type SchemaViolation,
  type Incompatibility,
  type JsonType,
} from './schemas.js';
export * from './client.js';
