#!/usr/bin/env bash
# SIP load: ramps a sipp UAC (INVITE → 200 → ACK → BYE against the echo test,
# answering at once) at increasing call rates against a release build on
# loopback, and reports, per rate, successful and failed calls and retransmissions
# (from sipp's statistics file). The highest rate with no failure and no
# retransmission is the figure to report.
# Usage: benches/sip_load.sh [RATES...]   (default: 100 200 400 800 1200 1600)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/switchboard-target}
cargo build --release -q
rates=("${@:-100 200 400 800 1200 1600}")
[ $# -gt 0 ] || rates=(100 200 400 800 1200 1600)
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
port=$((20000 + RANDOM % 20000))
SWITCHBOARD_DATA_DIR="$work/data" SWITCHBOARD_HTTP_LISTEN=127.0.0.1:0 SWITCHBOARD_SIP_LISTEN=127.0.0.1:$port \
SWITCHBOARD_ECHO_RING_MS=0 RUST_LOG=warn "$CARGO_TARGET_DIR/release/switchboard" serve > "$work/server.log" 2>&1 &
server=$!
for _ in $(seq 50); do grep -q "sip " "$work/server.log" && break; sleep 0.1; done
printf "%8s %10s %8s %8s\n" "cps" "successful" "failed" "retrans"
for r in "${rates[@]}"; do
  calls=$((r * 10))
  sipp 127.0.0.1:$port -sn uac -s 9999 -r "$r" -m "$calls" -l $((r * 3)) -d 200 -buff_size 8388608 \
    -nostdin -timeout 60 -p 0 -mp 0 -trace_stat -stf "$work/stat.csv" -fd 100 > "$work/sipp.out" 2>&1 || true
  last=$(tail -1 "$work/stat.csv" | tr ';' '\n')
  col() { head -1 "$work/stat.csv" | tr ';' '\n' | grep -nx "$1" | cut -d: -f1; }
  ok=$(echo "$last" | sed -n "$(col 'SuccessfulCall(C)')p")
  failed=$(echo "$last" | sed -n "$(col 'FailedCall(C)')p")
  retrans=$(echo "$last" | sed -n "$(col 'Retransmissions(C)')p")
  printf "%8s %10s %8s %8s\n" "$r" "${ok:-?}" "${failed:-?}" "${retrans:-?}"
  rm -f "$work/stat.csv"
done
