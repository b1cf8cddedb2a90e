#!/bin/bash
# Cost of one `nook stats` refresh with 100 running containers: wall time per container
# and instructions per container (callgrind), against a goal of 50 us per container.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-100}
ROUNDS=${ROUNDS:-200}
command -v valgrind >/dev/null || apt-get install -y -qq valgrind >/dev/null
make -s nook build/libnook.a
tmp=$(mktemp -d /tmp/nook-stats-bench.XXXXXX)
export NOOK_ROOT=$tmp/root NOOK_RUN=$tmp/run
cleanup() {
	for i in $(seq 1 "$N"); do ./nook rm -f "s$i" >/dev/null 2>&1 || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT
cc -std=c11 -D_GNU_SOURCE -O2 -g -I. $(pkg-config --cflags json-c) -o "$tmp/stats-refresh" \
	bench/stats-refresh.c build/libnook.a $(pkg-config --libs json-c libseccomp)
echo "starting $N containers..."
for i in $(seq 1 "$N"); do ./nook run -d --name "s$i" --memory 64M --pids 32 busybox -- sleep 600 >/dev/null; done
"$tmp/stats-refresh" "$ROUNDS"
valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out" "$tmp/stats-refresh" 1 >/dev/null 2>"$tmp/cg.log" || true
total=$(grep -E '^summary:|^totals:' "$tmp/cg.out" | head -1 | awk '{print $2}')
base_log=$(valgrind --tool=callgrind --callgrind-out-file="$tmp/cg0.out" "$tmp/stats-refresh" 0 2>&1 >/dev/null || true)
base=$(grep -E '^summary:|^totals:' "$tmp/cg0.out" | head -1 | awk '{print $2}')
echo "callgrind: $(( (total - base) / N )) instructions per container per refresh (one refresh of $N, set-up excluded)"
echo "goal: under 50 us per container"
