export * from './token-verifier.js';
export * from './tickets.js';
export * from './origin.js';
export * from './dev-token.js';
export * from './secret.js';
export * from './auth.module.js';
