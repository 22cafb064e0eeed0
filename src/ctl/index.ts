// `tabbyctl`, the calicoctl-like CLI: argument parsing, output formats and exit codes over the
// client and IPAM libraries. Other entry points share its datastore flags.
export { type DatastoreFlags, addDatastoreOptions, openDatastoreFromFlags } from './datastore-options.js';
