// Test fixtures for IPAM users (cni, agent, lab tests): kept at this path for their imports.
export * from './testing/fixtures.js';
