export { CONFIG_TABLE, ConfigError, nodeConfigSchema, readConfigFile, resolveConfig, type ConfigKey, type NodeConfig } from './config.js';
export { StrandNode, type StrandNodeOptions } from './node.js';
export { devAccounts, devConfig, DEV_MNEMONIC } from './dev.js';
