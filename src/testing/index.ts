// Test support, never shipped (the bundles start from entry points, and the layer test forbids
// product code to import it): a real etcd (plain or mTLS), a cuttable TCP proxy, watch recorders
// and the datastore targets the contract suites run on, resource fixtures and the IPAM stress
// worker. Tests import its files directly.
export {};
