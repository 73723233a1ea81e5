#!/bin/sh
# directpath TailscaleDirect: puts this node's tailscaled config file in place (init container).
#
# In the config-file flow (network: pod, or a peer relay) containerboot runs only
# `tailscaled --config=<file>`, where <file> is the cap-<N>.hujson in
# TS_EXPERIMENTAL_VERSIONED_CONFIG_DIR. The file differs per node (its hostname, and in pod mode
# the node's public IPs as static endpoints), but a DaemonSet has one pod template, so the
# ConfigMap carries every node's file and this script picks the one of the node the pod runs on:
#   $DIRECTPATH_CONFIG_SOURCE/<node name>.hujson   (pod mode: one per listed node), else
#   $DIRECTPATH_CONFIG_SOURCE/any-node.hujson      (host mode), with @NODE_NAME@ replaced.
# It reads no Kubernetes API: the node name comes from the downward API (spec.nodeName).
#
# Environment: NODE_NAME, DIRECTPATH_CONFIG_SOURCE, DIRECTPATH_CONFIG_FILE (cap-<N>.hujson),
# TS_EXPERIMENTAL_VERSIONED_CONFIG_DIR (the emptyDir containerboot reads).

set -u

fail() {
    echo "directpath select-config: FAIL: $*" >&2
    exit 1
}

node="${NODE_NAME:-}"
src="${DIRECTPATH_CONFIG_SOURCE:-}"
file="${DIRECTPATH_CONFIG_FILE:-}"
dest="${TS_EXPERIMENTAL_VERSIONED_CONFIG_DIR:-}"

[ -n "$src" ] || fail "DIRECTPATH_CONFIG_SOURCE is not set"
[ -n "$dest" ] || fail "TS_EXPERIMENTAL_VERSIONED_CONFIG_DIR is not set"
case "$file" in
    cap-[0-9]*.hujson) ;;
    *) fail "DIRECTPATH_CONFIG_FILE is '${file}', want cap-<capability version>.hujson" ;;
esac
# A node name is a DNS subdomain; anything else would also be unsafe in the sed replacement below.
case "$node" in
    '' | *[!a-z0-9.-]*) fail "NODE_NAME is '${node}', not a Kubernetes node name (lowercase letters, digits, '-', '.')" ;;
esac

if [ -f "$src/$node.hujson" ]; then
    from="$src/$node.hujson"
elif [ -f "$src/any-node.hujson" ]; then
    from="$src/any-node.hujson"
else
    listed=""
    for f in "$src"/*.hujson; do
        [ -f "$f" ] || continue
        b="${f##*/}"
        listed="$listed ${b%.hujson}"
    done
    fail "no tailscaled config for node '${node}' (the config has nodes:${listed:- none}); list it in TailscaleDirect's nodes with its public IPs, or keep the pods off it"
fi

tmp="$dest/.$file.tmp"
sed "s/@NODE_NAME@/$node/g" "$from" > "$tmp" || fail "can't write $tmp"
mv -f "$tmp" "$dest/$file" || fail "can't write $dest/$file"
echo "directpath select-config: node ${node}: ${from} -> ${dest}/${file}"
