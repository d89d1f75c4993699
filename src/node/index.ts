export { CONFIG_TABLE, ConfigError, nodeConfigSchema, readConfigFile, resolveConfig, type ConfigKey, type NodeConfig } from './config.js';
export { StrandNode, type StrandNodeOptions } from './node.js';
export { devAccounts, devConfig, DEV_BALANCE, DEV_MNEMONIC } from './dev.js';
export { DEV_L1_CHALLENGE_PERIOD_S, DEV_L1_DEPOSIT_ETH, DEV_L1_DEPOSIT_TOKEN, DEV_L1_OUTPUT_BOND, startDevL1, waitForL1Queue, type DevL1 } from './dev-l1.js';
export { VerifierNode, type VerifierStatusView } from './verifier.js';
// The contracts' deployment, for `strand deploy` (the CLI reaches L1 through the node module).
export { deployContracts } from '../l1/index.js';
export { writeDevCluster, type DevClusterMember, type DevClusterOptions } from './cluster-dev.js';
export { ClusterMember } from './cluster.js';
export { clusterConfigSchema, type ClusterConfig } from './config.js';
export { ADMIN_KEY_FILE, ensureDevAdminKey, ensureDevSecretsPassword, openApiAuth } from './api-keys.js';
export { apiAuthSchema } from './config.js';
export { NodeSigners, parseSignerSource, signerSources, SIGNER_ROLES, type NodeSignersOptions, type SignerRole, type SignerSource } from './signers.js';
export { pkcs11ConfigSchema, secretsConfigSchema } from './config.js';
