// The package's public surface (DESIGN.md §9).
export * from './ip/index.js';
export * from './datastore/datastore.js';
export { MemoryDatastore } from './datastore/memory.js';
export * from './selector/index.js';
