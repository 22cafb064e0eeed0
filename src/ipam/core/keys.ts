// IPAM's keys, spelled once in the model (model/ipam-keys.ts, model/stored.ts); re-exported here
// so IPAM's files keep their imports. New code imports them from '../../model/index.js'.

import { STORED } from '../../model/index.js';

export {
  IPAM_ROOT,
  IPAM_CONFIG_KEY,
  HANDLE_PREFIX,
  HOST_PREFIX,
  familyName,
  blockPrefix,
  blockKey,
  hostAffinityPrefix,
  affinityKey,
  handleKey,
  parseBlockKey,
  parseAffinityKey,
  parseHandleKey,
  isValidHandleId,
  isValidNodeName,
  nodeKey,
} from '../../model/index.js';

export const IPPOOL_PREFIX = STORED.IPPool.keyPrefix;
export const IPRESERVATION_PREFIX = STORED.IPReservation.keyPrefix;
export const NODE_PREFIX = STORED.Node.keyPrefix;
export const WORKLOADENDPOINT_PREFIX = STORED.WorkloadEndpoint.keyPrefix;
