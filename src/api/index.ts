export { buildApi, type ApiOptions } from './app.js';
export { createApiMetrics, type ApiMetrics } from './metrics.js';
export { httpStatusOf } from './errors.js';
export type * from './services.js';
export { FORWARDED_HEADER } from './txs-routes.js';
export { DEFAULT_AUTH_POLICY, type ApiAuth, type ApiAuthPolicy } from './auth.js';
