// BGP: what other folders may use of Tabby's BGP-4 speaker. Owns the wire codec (wire/, pure:
// messages, capabilities, path attributes as a descriptor table, RFC 7606 error handling).
export * from './wire/index.js';
