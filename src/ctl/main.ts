// tabbyctl entry point (wiring only; commands live beside it).
import { TABBY_VERSION } from '../version.js';
process.stdout.write(`tabbyctl ${TABBY_VERSION}\n`);
