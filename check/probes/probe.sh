#!/bin/sh
# directpath check probe: runs a list of network checks and prints every tool's raw output in a
# framed, versioned, line-oriented format that check/frame.ts parses. POSIX sh; needs only the
# busybox applets nc (-w, -e), nslookup, ping, timeout, grep and cat (all in the Tailscale image's
# Alpine busybox and in Debian's busybox), or the same tools from a full distribution.
#
# Environment (the whole contract):
#   DPC_CHECKS   newline-separated checks, one per line: <kind> <id> <args...>
#                  tcp     <id> <host> <port>     TCP connect (nc -w T <host> <port> -e true)
#                  tcpread <id> <host> <port>     TCP connect and read what the server sends first
#                  dns     <id> <name> [server]   nslookup -type=a <name> [server]
#                  resolve <id> <name>            the system resolver's address (ping -c 1 <name>)
#                  hosts   <id> <name>            lines of /etc/hosts that contain <name>
#                  file    <id> <path>            a file's content (e.g. /etc/resolv.conf)
#                <id>: letters, digits, '.', '_', ':', '-' (chosen by the caller, echoed back)
#   DPC_TIMEOUT  seconds per check (default 3); every tool also runs under `timeout` (T+2 s)
#   DPC_META     extra "key=value" words printed on the @meta line (node, vantage, ...)
#   DPC_NC       nc to use (default nc)
#
# Output (version 1):
#   DPC-PROBE 1 probe
#   @meta key=value ...
#   @run <id> <kind> <args...>
#   | <raw output line>            (stdout and stderr of the tool, each line prefixed by "| ")
#   @rc <id> <exit code>
#   DPC-END <number of @run sections>
# Exit code: 0 once every check ran (a failing check is data, not an error); 2 on a bad check line.
set -u

T=${DPC_TIMEOUT:-3}
NC=${DPC_NC:-nc}
case $T in ''|*[!0-9]*) echo "probe.sh: DPC_TIMEOUT must be a whole number of seconds, not '$T'" >&2; exit 2 ;; esac
HARD=$((T + 2))
COUNT=0

frame() { sed 's/^/| /'; }

run_check() {
    kind=$1; id=$2; shift 2
    case $id in ''|*[!A-Za-z0-9._:-]*) echo "probe.sh: bad check id '$id'" >&2; exit 2 ;; esac
    echo "@run $id $kind $*"
    case $kind in
        tcp) [ $# -eq 2 ] || { echo "probe.sh: tcp $id needs <host> <port>" >&2; exit 2; }
            out=$(timeout "$HARD" "$NC" -w "$T" "$1" "$2" -e true 2>&1 </dev/null); rc=$? ;;
        tcpread) [ $# -eq 2 ] || { echo "probe.sh: tcpread $id needs <host> <port>" >&2; exit 2; }
            out=$(timeout "$HARD" "$NC" -w "$T" "$1" "$2" 2>&1 </dev/null); rc=$? ;;
        dns) [ $# -ge 1 ] && [ $# -le 2 ] || { echo "probe.sh: dns $id needs <name> [server]" >&2; exit 2; }
            out=$(timeout "$HARD" nslookup -type=a "$@" 2>&1); rc=$? ;;
        resolve) [ $# -eq 1 ] || { echo "probe.sh: resolve $id needs <name>" >&2; exit 2; }
            out=$(timeout "$HARD" ping -c 1 -W 1 "$1" 2>&1); rc=$? ;;
        hosts) [ $# -eq 1 ] || { echo "probe.sh: hosts $id needs <name>" >&2; exit 2; }
            out=$(grep -F -i -- "$1" /etc/hosts 2>&1); rc=$? ;;
        file) [ $# -eq 1 ] || { echo "probe.sh: file $id needs <path>" >&2; exit 2; }
            out=$(cat -- "$1" 2>&1); rc=$? ;;
        *) echo "probe.sh: unknown check kind '$kind'" >&2; exit 2 ;;
    esac
    [ -n "$out" ] && printf '%s\n' "$out" | frame
    echo "@rc $id $rc"
    COUNT=$((COUNT + 1))
}

echo "DPC-PROBE 1 probe"
echo "@meta ${DPC_META:-}"
# The checks are read line by line; words are split on blanks (no quoting: ids, names and
# addresses never contain blanks).
NL='
'
OLDIFS=$IFS
IFS=$NL
for line in ${DPC_CHECKS:-}; do
    IFS=$OLDIFS
    # shellcheck disable=SC2086
    set -f; set -- $line; set +f
    IFS=$NL
    [ $# -eq 0 ] && continue
    case $1 in '#'*) continue ;; esac
    [ $# -ge 2 ] || { echo "probe.sh: check line '$line' has no id" >&2; exit 2; }
    IFS=$OLDIFS
    run_check "$@"
    IFS=$NL
done
IFS=$OLDIFS
echo "DPC-END $COUNT"
