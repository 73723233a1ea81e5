#!/bin/sh
# directpath check listener: the server half of the overlay probe. Listens on TCP DPC_PORT and
# answers every connection with one line, "dpc-ok <DPC_ID>", so a client can tell which pod it
# reached (a wrong backend shows as another id). POSIX sh + busybox nc. Runs until killed.
#   DPC_PORT  TCP port (default 8080)
#   DPC_ID    identity to answer with (default the hostname)
#   DPC_NC    nc to use (default nc)
set -u
PORT=${DPC_PORT:-8080}
ID=${DPC_ID:-$(hostname)}
NC=${DPC_NC:-nc}
case $PORT in ''|*[!0-9]*) echo "listen.sh: DPC_PORT must be a port number, not '$PORT'" >&2; exit 2 ;; esac
case $ID in ''|*[!A-Za-z0-9._:-]*) echo "listen.sh: DPC_ID must be letters, digits, '.', '_', ':', '-', not '$ID'" >&2; exit 2 ;; esac
echo "listen.sh: answering on tcp/$PORT as $ID"
# Persistent server: busybox's full nc (Alpine: NC_110_COMPAT) keeps listening with -lk, the small
# nc (Debian) with -ll; either way -e runs the answer per connection. A one-shot nc in a loop is the
# last resort (a connection in the gap between two listeners is refused; clients retry).
"$NC" -lk -p "$PORT" -e echo "dpc-ok $ID" 2>/dev/null
"$NC" -ll -p "$PORT" -e echo "dpc-ok $ID" 2>/dev/null
while :; do "$NC" -l -p "$PORT" -e echo "dpc-ok $ID" || sleep 1; done
