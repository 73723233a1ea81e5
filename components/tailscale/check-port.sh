#!/bin/sh
# directpath TailscaleDirect readiness check (runs inside the tailscale container as an exec probe).
#
# tailscaled silently falls back to a random UDP port when it can't bind the fixed one ($PORT,
# also passed as --port). Then the port opened in the security group leads nowhere and peers go
# through DERP. Under hostNetwork, /proc/net/udp{,6} lists every socket of the node, so "something
# listens on $PORT" proves nothing: this check passes only when a socket bound to $PORT belongs to
# the tailscaled process of this container (its inode is one of tailscaled's fds) and no other
# process holds $PORT. On failure it prints why (kubelet puts that in the pod's events) and exits 1.
#
# When TS_ENABLE_HEALTH_CHECK is true it also asks containerboot's health endpoint
# (TS_LOCAL_ADDR_PORT), which answers 200 once the node has tailnet addresses.
#
# With DIRECTPATH_RELAY_PORT set (a peer relay), the relay server's port must be tailscaled's too:
# the relay server does not fall back to another port, it stays off when it can't bind.
#
# Environment: PORT (required), DIRECTPATH_RELAY_PORT, TS_ENABLE_HEALTH_CHECK, TS_LOCAL_ADDR_PORT,
# and DIRECTPATH_PROC_ROOT (default /proc; tests point it at fixture files).

set -u

proc="${DIRECTPATH_PROC_ROOT:-/proc}"
port="${PORT:-}"

fail() {
    echo "directpath check-port: FAIL: $*"
    exit 1
}

case "$port" in
    '' | *[!0-9]*) fail "PORT is '${port}', not a port number (1-65535)" ;;
esac
if [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
    fail "PORT is ${port}, not a port number (1-65535)"
fi

# The tailscaled process(es) of this container (hostNetwork shares the node's network, not its PIDs).
pids=""
for dir in "$proc"/[0-9]*; do
    comm=""
    # A process may exit between the glob and the read (the node runs many): its comm is then
    # gone, which is not an error. The braces send the shell's own "can't open" to /dev/null.
    { read -r comm < "$dir/comm"; } 2>/dev/null || [ -n "$comm" ] || continue
    if [ "$comm" = "tailscaled" ]; then
        pids="$pids ${dir##*/}"
    fi
done
[ -n "$pids" ] || fail "no tailscaled process found under $proc; is containerboot still starting it?"

# Inodes of every socket tailscaled has open, one per line, framed by spaces for exact matching.
inodes=" "
for pid in $pids; do
    for fd in "$proc/$pid"/fd/*; do
        [ -h "$fd" ] || continue
        link=$(readlink "$fd" 2>/dev/null) || continue
        case "$link" in
            'socket:['*']')
                ino=${link#socket:[}
                inodes="$inodes${ino%]} "
                ;;
        esac
    done
done

# Lines "family port inode" for every UDP socket of the node.
sockets=""
for fam in udp udp6; do
    table="$proc/net/$fam"
    [ -r "$table" ] || continue
    sockets="$sockets$(awk -v fam="$fam" 'NR > 1 { n = split($2, a, ":"); print fam, a[n], $10 }' "$table")
"
done
[ -n "$sockets" ] || fail "cannot read $proc/net/udp or $proc/net/udp6"

# check_udp <port> <what>: fails unless tailscaled holds a socket on <port> and nobody else does.
# Sets $ours to the number of tailscaled's sockets on it.
check_udp() {
    want=$(printf '%04X' "$1")
    ours=0
    foreign=""
    tsports=""
    while read -r fam hp ino; do
        [ -n "$fam" ] || continue
        case "$inodes" in
            *" $ino "*) mine=1 ;;
            *) mine=0 ;;
        esac
        if [ "$hp" = "$want" ]; then
            if [ "$mine" = 1 ]; then
                ours=$((ours + 1))
            else
                foreign="$foreign ${fam}:inode=${ino}"
            fi
        elif [ "$mine" = 1 ]; then
            tsports="$tsports ${fam}:$(printf '%d' "0x$hp")"
        fi
    done <<EOF
$sockets
EOF
    if [ "$2" = "relay" ]; then
        if [ -n "$foreign" ]; then
            fail "the peer relay's UDP ${1} on this node is held by another process (${foreign# }), not by tailscaled; the relay server could not bind it and is off. Free the port or choose another one (relay.port arg)."
        fi
        if [ "$ours" -eq 0 ]; then
            fail "tailscaled's peer relay is not listening on UDP ${1}${tsports:+; its UDP sockets are on${tsports}}. Check the tailscaled logs for the relay server."
        fi
        return 0
    fi
    if [ -n "$foreign" ]; then
        fail "UDP ${1} on this node is held by another process (${foreign# }), not by tailscaled; tailscaled fell back to a random port${tsports:+ (it uses${tsports})}. Free the port or choose another one (port arg)."
    fi
    if [ "$ours" -eq 0 ]; then
        fail "tailscaled is not listening on UDP ${1}${tsports:+; its UDP sockets are on${tsports}}. Peers will be relayed through DERP."
    fi
}

relay="${DIRECTPATH_RELAY_PORT:-}"
relayours=0
if [ -n "$relay" ]; then
    case "$relay" in
        *[!0-9]*) fail "DIRECTPATH_RELAY_PORT is '${relay}', not a port number (1-65535)" ;;
    esac
    if [ "$relay" -lt 1 ] || [ "$relay" -gt 65535 ]; then
        fail "DIRECTPATH_RELAY_PORT is ${relay}, not a port number (1-65535)"
    fi
    check_udp "$relay" relay
    relayours=$ours
fi
check_udp "$port" tailscale

if [ "${TS_ENABLE_HEALTH_CHECK:-false}" = "true" ]; then
    addr="${TS_LOCAL_ADDR_PORT:-[::]:9002}"
    # An IPv6 pod IP comes unbracketed from $(POD_IP):<port> (containerboot brackets it itself).
    case "$addr" in
        \[*) ;;
        *:*:*) addr="[${addr%:*}]:${addr##*:}" ;;
    esac
    command -v wget >/dev/null 2>&1 || fail "wget is missing from the image, so the health endpoint http://${addr}/healthz can't be checked"
    if ! wget -q -T 3 -O /dev/null "http://${addr}/healthz" 2>/dev/null; then
        fail "health endpoint http://${addr}/healthz is not OK: the node has no tailnet address yet (not logged in?)"
    fi
fi

echo "directpath check-port: OK: tailscaled owns UDP ${port} (${ours} socket(s))${relay:+, and the peer relay's UDP ${relay} (${relayours} socket(s))}"
exit 0
