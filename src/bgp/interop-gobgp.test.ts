// Interop with gobgp in network namespaces (see testing/interop-suite.ts for the scenarios).
import { interopSuite } from './testing/interop-suite.js';

interopSuite('gobgp', 12);
