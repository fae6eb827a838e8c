export * from './outage-proxy.js';
