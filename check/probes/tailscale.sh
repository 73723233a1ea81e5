#!/bin/sh
# directpath check probe for a TailscaleDirect pod (run with `kubectl exec` in its tailscale
# container, or in a lab namespace next to a tailscaled). Prints, in probe.sh's framed format
# (version 1): `tailscale status --json`, the port check, and `tailscale ping` to each given peer.
# POSIX sh; needs the tailscale CLI, and busybox netstat when there is no check-port script.
#
# Environment:
#   DPC_SOCKET      tailscaled's socket (default /tmp/tailscaled.sock, containerboot's)
#   DPC_PORT_CHECK  the pod's port check script (TailscaleDirect mounts /etc/directpath/check-port.sh);
#                   when unset or missing: `netstat -lnup` (the UDP listener table) instead
#   DPC_PEERS       blank-separated peer addresses to `tailscale ping` (default: none)
#   DPC_PINGS       pings per peer (default 5; tailscale ping stops early once direct)
#   DPC_TIMEOUT     seconds per ping (default 3)
#   DPC_META        extra key=value words for the @meta line
#   DPC_TAILSCALE   the CLI (default tailscale)
set -u
SOCK=${DPC_SOCKET:-/tmp/tailscaled.sock}
PINGS=${DPC_PINGS:-5}
T=${DPC_TIMEOUT:-3}
TS=${DPC_TAILSCALE:-tailscale}
case $PINGS$T in *[!0-9]*|'') echo "tailscale.sh: DPC_PINGS and DPC_TIMEOUT must be whole numbers" >&2; exit 2 ;; esac
COUNT=0
section() {
    id=$1; shift
    echo "@run $id $*"
}
close() {
    [ -n "$2" ] && printf '%s\n' "$2" | sed 's/^/| /'
    echo "@rc $1 $3"
    COUNT=$((COUNT + 1))
}
echo "DPC-PROBE 1 tailscale"
echo "@meta ${DPC_META:-}"

section status tailscale-status "$SOCK"
out=$(timeout 20 "$TS" --socket="$SOCK" status --json 2>&1); rc=$?
close status "$out" "$rc"

if [ -n "${DPC_PORT_CHECK:-}" ] && [ -r "$DPC_PORT_CHECK" ]; then
    section port check-port "$DPC_PORT_CHECK"
    out=$(timeout 10 sh "$DPC_PORT_CHECK" 2>&1); rc=$?
else
    # busybox netstat names processes (-p) in the Tailscale image's build; elsewhere ss does.
    section port listeners netstat
    out=$(timeout 10 netstat -lnup 2>&1) || out=$(timeout 10 ss -lunp 2>&1); rc=$?
fi
close port "$out" "$rc"

n=0
for peer in ${DPC_PEERS:-}; do
    case $peer in *[!0-9A-Za-z.:_-]*) echo "tailscale.sh: bad peer '$peer'" >&2; exit 2 ;; esac
    section "p$n" ping "$peer"
    out=$(timeout $((PINGS * T + 5)) "$TS" --socket="$SOCK" ping -c "$PINGS" --timeout="${T}s" "$peer" 2>&1); rc=$?
    close "p$n" "$out" "$rc"
    n=$((n + 1))
done
echo "DPC-END $COUNT"
