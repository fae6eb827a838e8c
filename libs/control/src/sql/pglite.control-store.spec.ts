import { controlStoreContract, createPgliteDatabase } from '@herald/control/testing';

// The embedded driver: PGlite (PostgreSQL in WASM) on a temp directory per test.
controlStoreContract('PGlite', createPgliteDatabase);
