// The package's public surface (DESIGN.md §9): addresses, selectors, the resource model, the
// datastore and the typed client. Each folder's own index.ts says what it owns.
export * from './ip/index.js';
export * from './selector/index.js';
export * from './model/index.js';
export * from './datastore/index.js';
export * from './client/index.js';
