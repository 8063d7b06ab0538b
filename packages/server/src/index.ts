export { createApp, type App, type AppOptions } from './app.js';
export { resolveConfig, type ServerConfig, type ServerFlags } from './config.js';
export { serverCommand } from './server-command.js';
export { adminToken } from './testing/admin-token.js';
export { selfSignedCertificate } from './testing/certificates.js';
