#!/usr/bin/env bash
# make demo: a 3-node Tabby lab on this machine with sample pods, their addresses, and the
# reachability matrix measured with real packets. Needs root (namespaces, mounts); `make demo`
# has already built everything and installed what was missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "demo: the lab creates network and mount namespaces, so it needs root: sudo make demo" >&2
  exit 1
fi

tabby=bin/tabby
pods=src/lab/samples/demo.yaml
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

if [ -d /run/tabby/lab/lab ] || ip netns list 2>/dev/null | grep -q '^tabby-lab-'; then
  say "Removing the lab left from an earlier run"
  $tabby lab down
fi

say "Starting a 3-node lab with the pods in $pods (pods on different nodes talk over VXLAN)"
$tabby lab up --nodes 3 --encapsulation VXLAN -f "$pods"

say "Nodes and pods"
$tabby lab status

say "Reachability, TCP on each pod's first declared port (rows = from, columns = to; ✓ = connected)"
$tabby lab probe

say "Reachability, UDP/53 (only ops/dns serves it)"
$tabby lab probe --protocol UDP --port 53

say "Reachability over IPv6"
$tabby lab probe --family 6

say "Routes node-1 programmed (protocol 80): a blackhole for its own block, the other nodes' blocks over vxlan.calico"
$tabby lab exec node-1 -- ip route show proto 80

say "The external host (no route to pods): reached through natOutgoing, seeing each pod's node address"
$tabby lab probe --external

policy=src/lab/samples/demo-policy.yaml
say "Network policy: $policy (shop denies ingress by default; cart accepts frontend on 8080)"
$tabby lab apply -f "$policy"
sleep 1

say "Reachability with the policy (TCP, each pod's first declared port): the shop pods are closed but cart from frontend"
$tabby lab probe

say "The engine's matrix for TCP/8080 (tabbyctl policy matrix, from the datastore)"
$tabby lab exec node-1 -- bin/tabbyctl policy matrix --port 8080

say "Why ops/dns cannot reach shop/cart on 8080 (tabbyctl policy explain)"
$tabby lab exec node-1 -- bin/tabbyctl policy explain --from ops/dns --to shop/cart --port 8080

say "Per-rule counters from every node (tabbyctl policy stats)"
$tabby lab exec node-1 -- bin/tabbyctl policy stats

# ---- the same pods routed by BGP: full mesh between the nodes, a BIRD top-of-rack router ----
if [ -d /run/tabby/lab/bgp ] || ip netns list 2>/dev/null | grep -q '^tabby-bgp-'; then
  say "Removing the BGP lab left from an earlier run"
  $tabby lab down --name bgp
fi

say "A second lab, --encapsulation None: no overlay, every node runs Tabby's BGP daemon (full mesh) and peers with a BIRD ToR"
$tabby lab up --name bgp --nodes 3 --encapsulation None --tor bird -f "$pods"

say "Reachability through BGP-learned routes, TCP over IPv4 and IPv6"
$tabby lab probe --name bgp
$tabby lab probe --name bgp --family 6

say "Routes node-1 installed (protocol 80): the other nodes' blocks straight via their addresses, no tunnel"
$tabby lab exec --name bgp node-1 -- ip route show proto 80
$tabby lab exec --name bgp node-1 -- ip -6 route show proto 80

say "tabbyctl node status on node-1: the peers, calicoctl's way"
$tabby lab exec --name bgp node-1 -- bin/tabbyctl node status | sed -n '/^BGP:/,$p'

say "The ToR's view of the pod network (BIRD, AS 65010): every node's blocks"
$tabby lab exec --name bgp tor -- birdc show route

cat <<'TEXT'

What you see is measured: every cell is a real connection attempt from one pod's network
namespace to another pod's address. Pods on the same node reach each other through the node's
routes (a /32 and a /128 per pod on its cali* interface); pods on different nodes through the
VXLAN overlay each node's agent programs from the IPAM blocks (vxlan.calico, vxlan-v6.calico,
VNI 4096, port 4789, MTU 1450/1430). Try --encapsulation VXLANCrossSubnet --subnets 2 for direct
routes inside an underlay subnet. The second lab (`--name bgp`) has no overlay: each node's BGP
daemon announces its blocks to the other nodes (full iBGP mesh) and to the ToR (eBGP), and each
node routes the others' blocks straight to them. Try --route-reflectors 1, or --tor gobgp|frr.

Look around:
  bin/tabby lab status [-o json]                 nodes, agents' readiness, pods and addresses
  bin/tabby lab probe -o json                    the matrix as JSON (same shape as tabbyctl policy matrix)
  bin/tabby lab exec node-1 -- ip route          anything inside a node (its network, mounts, hostname)
  bin/tabby lab exec shop/frontend -- ip addr    anything inside a pod's network namespace
  bin/tabby lab exec external -- ip route        the external host (no route to pod CIDRs)
  bin/tabby lab exec node-1 -- bridge fdb show dev vxlan.calico
                                                 VTEP entries of the other nodes
  bin/tabby lab exec node-1 -- bin/tabbyctl get workloadendpoints -A
                                                 the lab's datastore (ETCD_ENDPOINTS is set inside nodes)
  bin/tabby lab apply -f FILE / delete -f FILE   add or remove pods and resources (policies too)
  bin/tabby lab delete -f src/lab/samples/demo-policy.yaml
                                                 lifts the sample policy
  bin/tabby lab exec node-1 -- nft list table inet tabby
                                                 the policy dataplane node-1 programmed
  ip netns list | grep tabby-lab                 every namespace the lab made

  bin/tabby lab exec --name bgp tor -- birdc show protocols
                                                 the ToR's sessions with the nodes

Tear it all down (namespaces, processes, mounts, files):
  bin/tabby lab down; bin/tabby lab down --name bgp
TEXT
