// What the calculation graph tells its consumers (the nftables dataplane, tests), in Felix's
// EventSequencer order: IP sets appear and change before the policies that use them, policies
// before profiles, profiles before the endpoints whose plans refer to them; removals run in
// the reverse order, so nothing is ever referenced while missing. Configuration (failsafe ports
// from FelixConfiguration, the VXLAN overlay from Nodes and pools) comes first, as Felix sends config before everything else.

import type { FailsafePorts } from './failsafe.js';
import type { OverlayAllow } from './overlay.js';
import type { CompiledPolicy, CompiledProfile, EndpointIR } from './ir.js';
import type { EndpointPlan } from './plan.js';

export type GraphEvent =
  | { readonly type: 'problem'; readonly kind: string; readonly key: string; readonly message: string }
  | { readonly type: 'failsafe-updated'; readonly failsafe: FailsafePorts }
  /** VXLAN between nodes accepted ahead of host endpoint policy; undefined: VXLAN not in use. */
  | { readonly type: 'overlay-updated'; readonly overlay: OverlayAllow | undefined }
  | { readonly type: 'ipset-added'; readonly id: string }
  | { readonly type: 'ipset-delta'; readonly id: string; readonly added: readonly string[]; readonly removed: readonly string[] }
  | { readonly type: 'policy-updated'; readonly id: string; readonly policy: CompiledPolicy }
  | { readonly type: 'profile-updated'; readonly id: string; readonly profile: CompiledProfile }
  | { readonly type: 'endpoint-updated'; readonly id: string; readonly endpoint: EndpointIR; readonly plan: EndpointPlan }
  | { readonly type: 'endpoint-removed'; readonly id: string }
  | { readonly type: 'profile-removed'; readonly id: string }
  | { readonly type: 'policy-removed'; readonly id: string }
  | { readonly type: 'ipset-removed'; readonly id: string };
