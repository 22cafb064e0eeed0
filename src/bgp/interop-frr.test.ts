// Interop with frr in network namespaces (see testing/interop-suite.ts for the scenarios).
import { interopSuite } from './testing/interop-suite.js';

interopSuite('frr', 13);
