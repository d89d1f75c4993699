export { assertSecretName, type PutOptions, type SecretRecord, type SecretVersion, type SecretsBackend } from './types.js';
export { FileAuditSink, MemoryAuditSink, verifyAuditLog, type AuditAction, type AuditEvent, type AuditSink } from './audit.js';
export { writeFileAtomic, withFileLock } from './files.js';
export { DEFAULT_SCRYPT, LocalSecretStore, type LocalStoreOptions, type ScryptParams } from './local-store.js';
export { SecretsManager, toSecretsError, type SecretsManagerOptions } from './manager.js';
export { VaultKvBackend, type VaultAuth, type VaultOptions } from './vault.js';
export { AwsSecretsBackend, type AwsSecretsOptions } from './aws.js';
export { decryptKeystore, encryptEip2335, encryptV3, normalizeEip2335Password, type DecryptedKey, type KdfName, type KeystoreOptions } from './keystore.js';
export { createSigningKey, exportKeystore, importKeystore, listSigningKeys, loadSigningKey, rotateSigningKey, type KeyInfo } from './keys.js';
