export * from './address.js';
export * from './cidr.js';
