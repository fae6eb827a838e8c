export * from './sql-fixtures.js';
export * from './control-store.contract.js';
