// tabby entry point (wiring only): node, controllers, lab.
import { TABBY_VERSION } from '../version.js';
process.stdout.write(`tabby ${TABBY_VERSION}\n`);
