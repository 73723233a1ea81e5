#!/bin/sh
# One real node of the nodes lab (lab/nodes/node.ts starts it): runs INSIDE the node's network
# namespace (nsenter --net=...) and its own mount and UTS namespaces (unshare -m -u), so that
# containerd, the kubelet and kube-proxy see the same mounts and nothing lands on the machine:
#   /run, /var/lib, /var/log, /opt  -> the node's own directories (containerd's runc state, shim
#                                      sockets, the CNI's IPAM, /var/lib/kubelet, pod logs)
#   /etc/hosts, /etc/resolv.conf    -> the node's own files (hostPath mounts of pods see these)
# Usage: node.sh <node dir> <hostname>. The node dir holds etc/ (configs), run/, var-lib/, var-log/,
# opt/, hosts, resolv.conf, and bin/ (kubelet, kube-proxy). Stops its daemons on SIGTERM.
set -eu
dir=$1
name=$2
[ -d "$dir/run" ] && [ -f "$dir/hosts" ] || { echo "node.sh: $dir is not a prepared node dir" >&2; exit 2; }

# Nothing mounted here propagates back to the machine.
mount --make-rprivate /
mount --bind "$dir/run" /run
mount --bind "$dir/var-lib" /var/lib
mount --bind "$dir/var-log" /var/log
mount --bind "$dir/opt" /opt
mount --bind "$dir/hosts" /etc/hosts
mount --bind "$dir/resolv.conf" /etc/resolv.conf
hostname "$name"
# The kubelet writes vm.overcommit_memory, kernel.panic and kernel.panic_on_oops (global sysctls,
# not per namespace) unless they already hold its values. This mount namespace shows it those
# values (read-only files bound over the /proc/sys entries), so the machine's stay as they are.
mkdir -p "$dir/sysctl"
for kv in vm/overcommit_memory=1 vm/panic_on_oom=0 kernel/panic=10 kernel/panic_on_oops=1 \
    kernel/keys/root_maxkeys=1000000 kernel/keys/root_maxbytes=25000000; do
    k=${kv%%=*}
    v=${kv#*=}
    [ "$(cat "/proc/sys/$k")" = "$v" ] && continue
    f="$dir/sysctl/$(echo "$k" | tr / .)"
    echo "$v" >"$f"
    mount --bind -o ro "$f" "/proc/sys/$k"
done
mkdir -p /run/containerd /var/lib/kubelet /var/lib/cni /var/log/pods
# containerd's temporary mounts (image unpacking) go to the node's dir, not the machine's /tmp.
export TMPDIR="$dir/tmp"

pids=""
stop() {
    trap - TERM INT
    # The kubelet first (it stops starting pods), then kube-proxy, then containerd.
    for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
    wait
    exit 0
}
trap stop TERM INT

containerd --config "$dir/etc/containerd.toml" >"$dir/log/containerd.log" 2>&1 &
pids="$! $pids"
i=0
until [ -S /run/containerd/containerd.sock ]; do
    i=$((i + 1))
    [ "$i" -le 100 ] || { echo "node.sh: containerd did not start; see $dir/log/containerd.log" >&2; exit 1; }
    sleep 0.1
done
"$dir/bin/kube-proxy" --config "$dir/etc/kube-proxy.yaml" --hostname-override "$name" >"$dir/log/kube-proxy.log" 2>&1 &
pids="$! $pids"
"$dir/bin/kubelet" --config "$dir/etc/kubelet.yaml" --kubeconfig "$dir/etc/kubelet.kubeconfig" \
    --hostname-override "$name" --node-ip "$(cat "$dir/etc/node-ip")" >"$dir/log/kubelet.log" 2>&1 &
pids="$! $pids"
echo "node.sh: $name up (containerd, kube-proxy, kubelet: $pids)"
wait
