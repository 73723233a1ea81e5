#!/bin/sh
# directpath hairpin-redirect: node iptables DNAT that keeps traffic for the cluster's own external
# IPs inside the cluster (HairpinBypass mode `iptables`). Runs in a hostNetwork DaemonSet pod, or by
# hand on any Linux host or network namespace as root. POSIX sh; needs iptables (nft and/or legacy
# flavour) and, for DNS-name targets, getent or nslookup.
#
# ENVIRONMENT (all optional)
#   DIRECTPATH_CONFIG    rules file to read (default /etc/directpath/rules.conf); re-read on every
#                        reconcile, so an edited file takes effect without a restart
#   DIRECTPATH_INTERVAL  seconds between reconciles (default 30): a flushed nat table heals, DNS-name
#                        targets are re-resolved
#   DIRECTPATH_IPTABLES  auto | nft | legacy (default auto: the flavour the host already uses, see
#                        pick_backend below)
#   DIRECTPATH_ONCE      1 = reconcile once and exit, leaving the rules in place (same as `once`)
#   DIRECTPATH_STATE_DIR where the loop records each round for the probes (default
#                        /run/directpath-hairpin; an emptyDir in the DaemonSet): `alive` (the time of
#                        its last round), `flavour`, `rules` (the chain's rules it installed), `skipped`
#   DIRECTPATH_ALIVE_SECONDS  probe `alive`: how old the last round may be (default 3 * interval + 10)
#
# ARGUMENTS
#   (none) or run   reconcile now and every DIRECTPATH_INTERVAL seconds until TERM/INT
#   once            reconcile once; exit 0 if every rule was installed, 1 otherwise
#   cleanup         remove the jump rules and the chain, then exit
#   ready           probe: exit 0 when the last round installed every rule of the rules file and
#                   they, and both jumps, are in the kernel's nat table now; changes nothing
#   alive           probe: exit 0 when the loop finished a round within DIRECTPATH_ALIVE_SECONDS
#
# SIGNALS
#   TERM, INT   remove the jump rules and the chain, exit 0 (a pod being deleted cleans up)
#   HUP         reconcile now
#   KILL        rules stay; the next start converges to exactly the same rule set
#
# RULES FILE: one rule per line, fields separated by blanks; `#` starts a comment:
#   <name> <tcp|udp> <external-ipv4> <external-port> <target> <target-port>
# <target> is an IPv4 address, or a DNS name resolved on every reconcile (a Service:
# <name>.<namespace>.svc.cluster.local; the pod uses dnsPolicy ClusterFirstWithHostNet). A name
# that doesn't resolve keeps its last good address; one that never resolved is skipped (logged).
#
# RULE SET (table nat; chain names start with DIRECTPATH-):
#   -N DIRECTPATH-HAIRPIN
#   -A DIRECTPATH-HAIRPIN -d <ext>/32 -p <proto> -m <proto> --dport <port> -m comment --comment directpath:<name> -j DNAT --to-destination <ip>:<port>
#   -I PREROUTING 1 -m comment --comment directpath-hairpin -j DIRECTPATH-HAIRPIN   (pods)
#   -I OUTPUT 1 -m comment --comment directpath-hairpin -j DIRECTPATH-HAIRPIN       (host processes, the kubelet)
# The chain is rewritten atomically (iptables-restore --noflush) on every reconcile; each jump is
# kept exactly once (a missing one is inserted first, duplicates are deleted).

set -u

CONFIG=${DIRECTPATH_CONFIG:-/etc/directpath/rules.conf}
INTERVAL=${DIRECTPATH_INTERVAL:-30}
WANT=${DIRECTPATH_IPTABLES:-auto}
ONCE=${DIRECTPATH_ONCE:-0}
CHAIN=DIRECTPATH-HAIRPIN
JUMP="-m comment --comment directpath-hairpin -j $CHAIN"
STATE=${DIRECTPATH_STATE_DIR:-/run/directpath-hairpin}
CACHE=""
SLEEP_PID=""

log() { echo "directpath-hairpin: $*" >&2; }
die() { log "error: $*"; exit 2; }

# ---- iptables flavour ----

# Prints the command for tool $2 (iptables, iptables-save, iptables-restore) of flavour $1 (nft,
# legacy), or nothing if that flavour isn't installed. The flavour goes after "iptables", as
# Debian and Alpine name them: iptables-nft, iptables-nft-save, iptables-legacy-restore.
tool() {
    _name="iptables-$1${2#iptables}"
    if command -v "$_name" >/dev/null 2>&1; then echo "$_name"
    elif command -v "xtables-$1-multi" >/dev/null 2>&1; then echo "xtables-$1-multi $2"
    fi
}

# Number of rules ("-A" lines) flavour $1 holds in every table, not counting our own (so a restart
# decides like the first start did); 0 if the flavour isn't installed.
rule_count() {
    save=$(tool "$1" iptables-save)
    [ -n "$save" ] || { echo 0; return; }
    $save 2>/dev/null | grep '^-A' | grep -vc "$CHAIN" || true
}

# Whether flavour $1 holds the chains that kubelet and kube-proxy create to mark the flavour they
# use (KUBE-IPTABLES-HINT, KUBE-KUBELET-CANARY in the mangle table).
has_kube_hint() {
    save=$(tool "$1" iptables-save)
    [ -n "$save" ] || return 1
    $save -t mangle 2>/dev/null | grep -Eq '^:(KUBE-IPTABLES-HINT|KUBE-KUBELET-CANARY) '
}

# Chooses the flavour like Kubernetes' iptables-wrapper: the one kubelet/kube-proxy marked, else
# the one with more rules (nft on a tie: what current distributions default to).
pick_backend() {
    case $WANT in
        nft|legacy) FLAVOUR=$WANT; why="DIRECTPATH_IPTABLES=$WANT" ;;
        auto)
            if has_kube_hint nft; then FLAVOUR=nft; why="kube hint chain in nft"
            elif has_kube_hint legacy; then FLAVOUR=legacy; why="kube hint chain in legacy"
            else
                n=$(rule_count nft); l=$(rule_count legacy)
                if [ "$l" -gt "$n" ]; then FLAVOUR=legacy; else FLAVOUR=nft; fi
                why="rules: nft=$n legacy=$l"
            fi ;;
        *) die "DIRECTPATH_IPTABLES must be auto, nft or legacy, not '$WANT'" ;;
    esac
    IPT=$(tool "$FLAVOUR" iptables)
    RESTORE=$(tool "$FLAVOUR" iptables-restore)
    [ -n "$IPT" ] && [ -n "$RESTORE" ] || die "iptables ($FLAVOUR) is not installed"
    log "using iptables-$FLAVOUR ($why)"
}

# ---- rules file ----

is_ipv4() {
    case $1 in
        *[!0-9.]*|*..*|.*|*.) return 1 ;;
    esac
    old_ifs=$IFS; IFS=.
    # shellcheck disable=SC2086
    set -- $1
    IFS=$old_ifs
    [ $# -eq 4 ] || return 1
    for o in "$@"; do
        [ ${#o} -le 3 ] && [ "$o" -le 255 ] || return 1
        case $o in 0?*) return 1 ;; esac
    done
}

is_port() {
    case $1 in ''|*[!0-9]*|0*) return 1 ;; esac
    [ ${#1} -le 5 ] && [ "$1" -le 65535 ]
}

# Prints the first IPv4 address name $1 resolves to, or nothing.
lookup() {
    if command -v getent >/dev/null 2>&1; then
        for a in $(getent hosts "$1" 2>/dev/null); do
            if is_ipv4 "$a"; then echo "$a"; return; fi
        done
    fi
    if command -v nslookup >/dev/null 2>&1; then
        nslookup "$1" 2>/dev/null | {
            seen=""
            while read -r key val rest; do
                case $key in
                    Name:) seen=1 ;;
                    # "Address: 10.0.0.1" (busybox, bind) or "Address 1: 10.0.0.1 name" (old busybox)
                    Address*) a=$val
                        case $a in *:) a=${rest%% *} ;; esac
                        if [ -n "$seen" ] && is_ipv4 "$a"; then echo "$a"; break; fi ;;
                esac
            done
        }
    fi
}

# Sets RESOLVED to the address for target $1: a literal as is, a name resolved now, else its last
# good address; empty if it never resolved. Keeps the cache in CACHE ("name address" lines).
resolve_target() {
    RESOLVED=""
    if is_ipv4 "$1"; then RESOLVED=$1; return; fi
    ip=$(lookup "$1")
    cached=$(printf '%s\n' "$CACHE" | while read -r n a; do [ "$n" = "$1" ] && echo "$a"; done)
    if [ -n "$ip" ]; then
        if [ "$ip" != "$cached" ]; then
            log "$1 resolves to $ip${cached:+ (was $cached)}"
            CACHE=$(printf '%s\n' "$CACHE" | while read -r n a; do [ -n "$n" ] && [ "$n" != "$1" ] && echo "$n $a"; done; echo "$1 $ip")
        fi
        RESOLVED=$ip
    elif [ -n "$cached" ]; then
        log "warning: $1 does not resolve now; keeping $cached"
        RESOLVED=$cached
    fi
}

skip() {
    log "warning: $CONFIG:$line_no: $*; skipped"
    SKIPPED=$((SKIPPED + 1))
}

# Reads the rules file into RULES (iptables-restore lines for the chain) and SKIPPED (the number of
# rules that could not be rendered). Runs in the current shell, so the resolver cache persists.
render() {
    RULES=""
    SKIPPED=0
    line_no=0
    while IFS= read -r line || [ -n "$line" ]; do
        line_no=$((line_no + 1))
        line=${line%%#*}
        # shellcheck disable=SC2086
        set -- $line
        [ $# -eq 0 ] && continue
        if [ $# -ne 6 ]; then
            skip "want 6 fields (name proto external-ip external-port target target-port), got $#"
            continue
        fi
        name=$1 proto=$2 ext=$3 port=$4 target=$5 tport=$6
        case $proto in
            tcp|udp) ;;
            *) skip "protocol must be tcp or udp, not '$proto'"; continue ;;
        esac
        case $name in
            *[!A-Za-z0-9._-]*) skip "name '$name' may hold only letters, digits, '.', '_' and '-'"; continue ;;
        esac
        if ! is_ipv4 "$ext" || ! is_port "$port" || ! is_port "$tport"; then
            skip "bad external IPv4 '$ext' or port '$port'/'$tport'"
            continue
        fi
        resolve_target "$target"
        if [ -z "$RESOLVED" ]; then
            skip "$target does not resolve (yet); rule $name waits for the next round"
            continue
        fi
        RULES="$RULES-A $CHAIN -d $ext/32 -p $proto -m $proto --dport $port -m comment --comment directpath:$name -j DNAT --to-destination $RESOLVED:$tport
"
    done < "$CONFIG"
}

# ---- apply ----

jump_count() {
    $IPT -w -t nat -S "$1" 2>/dev/null | grep -c -- "--comment directpath-hairpin -j $CHAIN\$" || true
}

ensure_jump() {
    n=$(jump_count "$1")
    while [ "$n" -gt 1 ]; do
        # shellcheck disable=SC2086
        $IPT -w -t nat -D "$1" $JUMP
        n=$((n - 1))
    done
    if [ "$n" -eq 0 ]; then
        # shellcheck disable=SC2086
        $IPT -w -t nat -I "$1" 1 $JUMP || return 1
        log "inserted the jump from nat $1"
    fi
}

# Makes the kernel's rule set match the rules file. Returns 1 if anything is missing.
reconcile() {
    if [ ! -r "$CONFIG" ]; then
        log "error: cannot read $CONFIG; rules left as they are"
        return 1
    fi
    render
    # Declaring the chain in a --noflush restore creates it, or flushes it if it exists; the whole
    # chain is replaced in one transaction, so traffic never sees a half-written chain.
    if ! printf '*nat\n:%s - [0:0]\n%sCOMMIT\n' "$CHAIN" "$RULES" | $RESTORE -w 5 --noflush; then
        log "error: iptables-restore failed; wanted:"
        printf '%s' "$RULES" >&2
        return 1
    fi
    ensure_jump PREROUTING || return 1
    ensure_jump OUTPUT || return 1
    n=$(printf '%s' "$RULES" | grep -c '^-A' || true)
    if [ "$n" != "$LAST_COUNT" ]; then log "reconciled: $n rule(s) in $CHAIN"; fi
    LAST_COUNT=$n
    [ "$SKIPPED" -eq 0 ]
}

cleanup() {
    for c in PREROUTING OUTPUT; do
        # shellcheck disable=SC2086
        while $IPT -w -t nat -D "$c" $JUMP 2>/dev/null; do :; done
    done
    $IPT -w -t nat -F "$CHAIN" 2>/dev/null
    $IPT -w -t nat -X "$CHAIN" 2>/dev/null
    log "removed $CHAIN and its jumps"
}

on_term() {
    [ -n "$SLEEP_PID" ] && kill "$SLEEP_PID" 2>/dev/null
    cleanup
    exit 0
}

# ---- state for the probes ----

# Records the round just done (atomically per file: written aside, then renamed).
write_state() {
    [ -d "$STATE" ] || mkdir -p "$STATE" 2>/dev/null || { log "warning: cannot create $STATE; the probes will fail"; return 0; }
    printf '%s\n' "$FLAVOUR" > "$STATE/.flavour" && mv -f "$STATE/.flavour" "$STATE/flavour"
    printf '%s' "$RULES" > "$STATE/.rules" && mv -f "$STATE/.rules" "$STATE/rules"
    printf '%s\n' "$1" > "$STATE/.skipped" && mv -f "$STATE/.skipped" "$STATE/skipped"
    date +%s > "$STATE/.alive" && mv -f "$STATE/.alive" "$STATE/alive"
}

probe_alive() {
    limit=${DIRECTPATH_ALIVE_SECONDS:-$((3 * INTERVAL + 10))}
    beat=$(cat "$STATE/alive" 2>/dev/null) || beat=""
    case $beat in ''|*[!0-9]*) log "not alive: no round recorded in $STATE/alive"; return 1 ;; esac
    age=$(( $(date +%s) - beat ))
    if [ "$age" -gt "$limit" ]; then log "not alive: the last round was ${age}s ago (limit ${limit}s)"; return 1; fi
}

probe_ready() {
    FLAVOUR=$(cat "$STATE/flavour" 2>/dev/null) || FLAVOUR=""
    [ -n "$FLAVOUR" ] || { log "not ready: no round recorded in $STATE yet"; return 1; }
    IPT=$(tool "$FLAVOUR" iptables)
    [ -n "$IPT" ] || { log "not ready: iptables ($FLAVOUR) is not installed"; return 1; }
    skipped=$(cat "$STATE/skipped" 2>/dev/null) || skipped=""
    case $skipped in
        0) ;;
        failed) log "not ready: the last round failed (see the log)"; return 1 ;;
        *) log "not ready: the last round could not install ${skipped:-some} rule(s) (see the log)"; return 1 ;;
    esac
    for c in PREROUTING OUTPUT; do
        [ "$(jump_count "$c")" -ge 1 ] || { log "not ready: the jump from nat $c to $CHAIN is missing"; return 1; }
    done
    # iptables -S quotes the comments; the rules we wrote have none.
    have=$($IPT -w -t nat -S "$CHAIN" 2>/dev/null | tr -d '"') || { log "not ready: nat chain $CHAIN is missing"; return 1; }
    missing=0
    while IFS= read -r want; do
        [ -n "$want" ] || continue
        case "
$have
" in
            *"
$want
"*) ;;
            *) missing=$((missing + 1)); log "not ready: missing: $want" ;;
        esac
    done < "$STATE/rules"
    [ "$missing" -eq 0 ]
}

# ---- main ----

# The unit tests source this file with DIRECTPATH_LIB=1 to call the functions above directly.
if [ "${DIRECTPATH_LIB:-0}" = 1 ]; then return 0; fi

case ${1:-run} in
    run) ;;
    once) ONCE=1 ;;
    cleanup) pick_backend; cleanup; exit 0 ;;
    ready) probe_ready; exit $? ;;
    alive) probe_alive; exit $? ;;
    *) die "unknown argument '$1' (want run, once, cleanup, ready or alive)" ;;
esac
is_port "$INTERVAL" || die "DIRECTPATH_INTERVAL must be a number of seconds, not '$INTERVAL'"

LAST_COUNT=""
pick_backend

if [ "$ONCE" = 1 ]; then
    reconcile
    exit $?
fi

trap on_term TERM INT
trap ':' HUP
log "reconciling every ${INTERVAL}s from $CONFIG"
while :; do
    if reconcile; then
        write_state 0
    else
        # SKIPPED is 0 when the restore itself failed: say "failed" then, never 0.
        if [ "${SKIPPED:-0}" -gt 0 ]; then write_state "$SKIPPED"; else write_state failed; fi
        log "reconcile incomplete; retrying in ${INTERVAL}s"
    fi
    sleep "$INTERVAL" &
    SLEEP_PID=$!
    wait "$SLEEP_PID"
    SLEEP_PID=""
done
