// Bundle entry of the TypeScript CNI forwarder (dist/bin/tabby-cni.cjs).
import { main } from './forwarder.js';

void main();
