#!/bin/sh
# hosts-sync.sh: keeps a marked block of "<address> <hostname>" lines in a hosts file.
# Part of directpath's HairpinBypass (DNS half). POSIX sh; needs awk, cat, cmp, mktemp, sleep, tail.
#
# Environment (the whole contract; nothing else is read):
#   HOSTS_FILE      the hosts file to edit (default /etc/hosts). In the DaemonSet it is the node's
#                   /etc/hosts, mounted as a single file (hostPath type File).
#   ENTRIES_FILE    a file of entries, one "<address> <hostname> [<hostname>...]" per line; blank
#                   lines and lines starting with # are ignored. In the DaemonSet: the ConfigMap
#                   key "entries", mounted as a directory (so updates arrive without a restart).
#   HOSTS_ENTRIES   used instead of ENTRIES_FILE when that is unset: the same lines, newline-separated.
#   BLOCK_ID        names the block (default "hosts"); markers are "# BEGIN directpath <id>" and
#                   "# END directpath <id>". Letters, digits, '.', '_' and '-' only.
#   INTERVAL        seconds between reconciles (default 60).
#   RUN_ONCE        "1": reconcile once and exit (no loop, no removal). Same as the argument "once".
#   ALIVE_SECONDS   probe "alive": the loop's heartbeat may be this old (default 3 * INTERVAL + 10).
# Arguments: none (loop), "once" (reconcile once), "remove" (remove the block once and exit),
#   "ready" (probe: exit 0 when the hosts file holds exactly the block the entries want, or no block
#   when there are none; writes nothing), "alive" (probe: exit 0 when the loop wrote its heartbeat,
#   ${TMPDIR:-/tmp}/hosts-sync.<id>.alive, within ALIVE_SECONDS). The DaemonSet's readiness and
#   liveness probes run these two in the same container, with the same environment.
# Signals: TERM and INT remove the block and exit 0; HUP reconciles at once.
# Exit codes: 0 done; 2 bad configuration; 3 the hosts file can't be read or written.
#
# Behaviour:
#   - Idempotent: the file is rebuilt from its content outside the block plus the entries; when
#     that equals the file, nothing is written (a second run, or a restart after a crash, changes
#     no byte).
#   - Lines outside the block are never changed. The block goes at the end. When the file did not
#     end with a newline, one is added before the block and the BEGIN marker records it
#     ("+newline"), so removing the block restores the original bytes exactly.
#   - Inode-safe: the new content is built in a temporary file, compared, and then written *in
#     place* (cat tmp > file: truncate and write the same inode). A rename would replace the
#     inode, and a single-file bind mount (the hostPath) would keep showing the old one; the node
#     would never see the edit.
#   - Entries whose address or names contain anything but address and hostname characters are
#     skipped with a warning, so an entry can never inject a marker or a comment.

set -u

HOSTS_FILE=${HOSTS_FILE:-/etc/hosts}
BLOCK_ID=${BLOCK_ID:-hosts}
INTERVAL=${INTERVAL:-60}
RUN_ONCE=${RUN_ONCE:-0}
MODE=${1:-loop}

log() { printf '%s hosts-sync[%s]: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$BLOCK_ID" "$*" >&2; }

case "$BLOCK_ID" in
  ''|*[!A-Za-z0-9._-]*) log "BLOCK_ID must be letters, digits, '.', '_' or '-': '$BLOCK_ID'"; exit 2 ;;
esac
case "$INTERVAL" in
  ''|*[!0-9]*|0) log "INTERVAL must be a positive number of seconds: '$INTERVAL'"; exit 2 ;;
esac
case "$MODE" in
  loop|once|remove|ready|alive) ;;
  *) log "unknown argument '$MODE' (use: once, remove, ready, alive, or nothing)"; exit 2 ;;
esac
[ "$RUN_ONCE" = 1 ] && [ "$MODE" = loop ] && MODE=once

BEGIN_MARK="# BEGIN directpath $BLOCK_ID"
BEGIN_MARK_NL="# BEGIN directpath $BLOCK_ID +newline"
END_MARK="# END directpath $BLOCK_ID"
# The loop's heartbeat: the time (seconds since the epoch) of its last round. A file, so the stale
# directory clean-up below leaves it alone.
HEARTBEAT="${TMPDIR:-/tmp}/hosts-sync.$BLOCK_ID.alive"

if [ "$MODE" = alive ]; then
  limit=${ALIVE_SECONDS:-$((3 * INTERVAL + 10))}
  beat=$(cat "$HEARTBEAT" 2>/dev/null) || beat=""
  case "$beat" in ''|*[!0-9]*) log "not alive: no heartbeat in $HEARTBEAT (the loop never ran a round)"; exit 1 ;; esac
  age=$(( $(date +%s) - beat ))
  if [ "$age" -gt "$limit" ]; then log "not alive: the loop's last round was ${age}s ago (limit ${limit}s)"; exit 1; fi
  exit 0
fi

# True when the file is empty or its last byte is a newline. ($(...) strips a trailing newline,
# so the substitution is empty exactly then.)
ends_with_newline() { [ -z "$(tail -c 1 "$1")" ]; }

# strip FILE OUT: writes FILE's content without our block to OUT, byte for byte as it was before
# the block was added.
strip_block() {
  if ends_with_newline "$1"; then _nl=1; else _nl=0; fi
  awk -v b="$BEGIN_MARK" -v bnl="$BEGIN_MARK_NL" -v e="$END_MARK" -v nl="$_nl" '
    { lines[NR] = $0 }
    END {
      n = 0; inblk = 0; added = 0; after = 0
      for (i = 1; i <= NR; i++) {
        l = lines[i]
        if (!inblk && (l == b || l == bnl)) { inblk = 1; added = (l == bnl); continue }
        if (inblk) { if (l == e) { inblk = 0; after = 0 } ; continue }
        out[++n] = l; after++
      }
      # A block that was last and had added a newline: the line before it had none.
      trailing = nl
      if (added && after == 0) trailing = 0
      for (i = 1; i <= n; i++) {
        if (i < n || trailing) printf "%s\n", out[i]; else printf "%s", out[i]
      }
    }' "$1" > "$2"
}

# The entries, validated and normalised to "<address> <name>..." with single spaces.
read_entries() {
  if [ -n "${ENTRIES_FILE:-}" ]; then
    if [ ! -r "$ENTRIES_FILE" ]; then log "ENTRIES_FILE '$ENTRIES_FILE' is not readable"; return 1; fi
    cat "$ENTRIES_FILE"
  else
    printf '%s\n' "${HOSTS_ENTRIES:-}"
  fi | awk '
    { sub(/\r$/, "") }
    /^[ \t]*(#|$)/ { next }
    {
      ok = ($1 ~ /^[0-9A-Fa-f:.]+$/ && NF >= 2)
      for (i = 2; i <= NF; i++) if ($i !~ /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/) ok = 0
      if (!ok) { printf "hosts-sync: skipping malformed entry: %s\n", $0 > "/dev/stderr"; next }
      line = $1; for (i = 2; i <= NF; i++) line = line " " $i
      print line
    }'
}

# Writes NEW over HOSTS_FILE in place when they differ. Returns 0 either way, 3 on a write error.
write_in_place() {
  if cmp -s "$1" "$HOSTS_FILE"; then return 0; fi
  if cat "$1" > "$HOSTS_FILE"; then log "updated $HOSTS_FILE"; return 0; fi
  log "cannot write $HOSTS_FILE"; return 3
}

reconcile() {
  if [ ! -r "$HOSTS_FILE" ]; then log "cannot read $HOSTS_FILE"; return 3; fi
  read_entries > "$WORK/entries" || return 2
  strip_block "$HOSTS_FILE" "$WORK/base" || return 3
  if [ ! -s "$WORK/entries" ]; then
    cp "$WORK/base" "$WORK/new"
  else
    {
      cat "$WORK/base"
      if [ ! -s "$WORK/base" ]; then
        printf '%s\n' "$BEGIN_MARK"
      elif ends_with_newline "$WORK/base"; then
        printf '%s\n' "$BEGIN_MARK"
      else
        printf '\n%s\n' "$BEGIN_MARK_NL"
      fi
      cat "$WORK/entries"
      printf '%s\n' "$END_MARK"
    } > "$WORK/new"
  fi
  write_in_place "$WORK/new"
}

remove_block() {
  [ -r "$HOSTS_FILE" ] || { log "cannot read $HOSTS_FILE"; return 3; }
  strip_block "$HOSTS_FILE" "$WORK/base" || return 3
  write_in_place "$WORK/base"
}

# The block's lines as the hosts file holds them now (nothing when there is no block).
current_block() {
  awk -v b="$BEGIN_MARK" -v bnl="$BEGIN_MARK_NL" -v e="$END_MARK" '
    !inblk && ($0 == b || $0 == bnl) { inblk = 1; found = 1; next }
    inblk && $0 == e { inblk = 0; next }
    inblk { print }
    END { if (inblk) print "(no END marker)" }' "$HOSTS_FILE"
}

if [ "$MODE" = ready ]; then
  [ -r "$HOSTS_FILE" ] || { log "not ready: cannot read $HOSTS_FILE"; exit 1; }
  want=$(read_entries) || exit 1
  have=$(current_block)
  if [ "$want" != "$have" ]; then
    if [ -z "$have" ]; then log "not ready: $HOSTS_FILE has no directpath $BLOCK_ID block";
    else log "not ready: the directpath $BLOCK_ID block in $HOSTS_FILE differs from the entries"; fi
    exit 1
  fi
  exit 0
fi

# Scratch space. A previous instance killed hard (SIGKILL, OOM) leaves its directory behind; in the
# DaemonSet /tmp is an emptyDir that outlives container restarts, so those are removed first.
for stale in "${TMPDIR:-/tmp}/hosts-sync.$BLOCK_ID".*; do
  [ -d "$stale" ] && [ ! -L "$stale" ] && rm -rf "$stale"
done
WORK=$(mktemp -d "${TMPDIR:-/tmp}/hosts-sync.$BLOCK_ID.XXXXXX") || { log "cannot create a temporary directory"; exit 3; }
SLEEPER=""
cleanup() { [ -n "$SLEEPER" ] && kill "$SLEEPER" 2>/dev/null; rm -rf "$WORK"; }

case "$MODE" in
  once)   reconcile; rc=$?; cleanup; exit $rc ;;
  remove) remove_block; rc=$?; cleanup; exit $rc ;;
esac

on_term() {
  log "terminating: removing the block from $HOSTS_FILE"
  remove_block
  rc=$?
  cleanup
  rm -f "$HEARTBEAT"
  exit $rc
}
trap on_term TERM INT
trap 'log "HUP: reconciling now"' HUP

log "reconciling $HOSTS_FILE every ${INTERVAL}s"
while :; do
  reconcile || log "reconcile failed (exit $?); retrying in ${INTERVAL}s"
  date +%s > "$HEARTBEAT" 2>/dev/null || log "cannot write the heartbeat $HEARTBEAT"
  # Sleep in the background so a signal interrupts the wait at once.
  sleep "$INTERVAL" &
  SLEEPER=$!
  wait "$SLEEPER" 2>/dev/null
  kill "$SLEEPER" 2>/dev/null
  SLEEPER=""
done
