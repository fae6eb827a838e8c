export * from './test-cert.js';
export * from './fake-apns.js';
export * from './fake-fcm.js';
