export { API_KEY_PATTERN, API_KEY_PREFIX, formatApiKey, isKeyId, newApiKey, parseApiKey, type ParsedApiKey } from './format.js';
export {
  API_SCOPES,
  ApiKeyStore,
  isApiScope,
  parseDuration,
  PEPPER_SECRET,
  unauthorized,
  type ApiKeyInfo,
  type ApiKeyRate,
  type ApiKeyStoreOptions,
  type ApiPrincipal,
  type ApiScope,
  type CreateKeyOptions,
} from './store.js';
export { authorizationKey, grants } from './policy.js';
