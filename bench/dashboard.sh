#!/bin/bash
# CPU the dashboard uses while it watches N running containers (default 100) for
# SECONDS_ (default 60): user+system time of the `nook tui` process, as a share of one
# core, against a goal of 2%. The dashboard runs in a private tmux server, 120x40.
# Settings: N, SECONDS_, NOOK_BIN (default ./nook), SORT=cpu (re-sort every second),
# NETWORK (default none; bridge adds a netlink read per container per second).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-100}
DURATION=${SECONDS_:-60}
NOOK=${NOOK_BIN:-$PWD/nook}
[ -x "$NOOK" ] || make -s nook
command -v tmux >/dev/null || apt-get install -y -qq tmux >/dev/null
[ "$(id -u)" = 0 ] || { echo "run as root: containers need it"; exit 1; }

tmp=$(mktemp -d /tmp/nook-dash-bench.XXXXXX)
export NOOK_ROOT=$tmp/root NOOK_RUN=$tmp/run
SOCK=nook-bench-$$
cleanup() {
	path=$(tmux -L "$SOCK" display-message -p '#{socket_path}' 2>/dev/null || true)
	tmux -L "$SOCK" kill-server 2>/dev/null || true
	[ -n "$path" ] && rm -f "$path"
	for i in $(seq 1 "$N"); do "$NOOK" rm -f "b$i" >/dev/null 2>&1 || true; done
	"$NOOK" net rm nook >/dev/null 2>&1 || true # its bridge and firewall table, if made
	rm -rf "$tmp"
}
trap cleanup EXIT

echo "starting $N containers..."
for i in $(seq 1 "$N"); do
	"$NOOK" run -d --network "${NETWORK:-none}" --name "b$i" busybox -- sleep 3600 >/dev/null
done

tmux -L "$SOCK" -f /dev/null new-session -d -s bench -x 120 -y 40 \
	"exec env NOOK_ROOT=$NOOK_ROOT NOOK_RUN=$NOOK_RUN TERM=screen-256color LANG=C.UTF-8 $NOOK tui"
pid=$(tmux -L "$SOCK" display-message -p -t bench '#{pane_pid}')
for _ in $(seq 1 100); do
	tmux -L "$SOCK" capture-pane -p -t bench | grep -q "$N running" && break
	sleep 0.1
done
tmux -L "$SOCK" capture-pane -p -t bench | grep -q "$N running" || { echo "the dashboard never showed $N running"; exit 1; }
if [ "${SORT:-}" = cpu ]; then
	# o opens the sort menu; CPU% is its fifth entry.
	tmux -L "$SOCK" send-keys -t bench o j j j j Enter
fi
sleep 2 # past start-up: the steady state is what is measured

ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
switches() { awk '/^voluntary_ctxt_switches/ {print $2}' "/proc/$pid/status"; }
hz=$(getconf CLK_TCK)
t0=$(ticks); s0=$(switches); w0=$(date +%s.%N)
sleep "$DURATION"
t1=$(ticks); s1=$(switches); w1=$(date +%s.%N)

awk -v t="$((t1 - t0))" -v hz="$hz" -v w0="$w0" -v w1="$w1" -v s="$((s1 - s0))" -v n="$N" 'BEGIN {
	wall = w1 - w0; cpu = t / hz;
	printf "dashboard, %d running containers, %.0f s: %.3f s of CPU = %.2f%% of one core (goal: under 2%%)\n",
		n, wall, cpu, 100 * cpu / wall;
	printf "wake-ups: %.1f per second\n", s / wall;
}'
