#!/usr/bin/env bash
# bench/startup.sh: how long `nook run --rm busybox -- /bin/true` takes, beside
#   - the floor:  unshare --fork --pid --mount --uts --ipc --net --mount-proc chroot ROOTFS /bin/true
#   - bwrap --unshare-all on the same rootfs
#   - crun run and runc run on an OCI bundle of the same rootfs, with and without a netns
# and how long a `nook run -d` + `nook stop` + `nook rm` cycle takes.
#
# Every tool runs the same rootfs: the busybox image nook builds on its first run,
# copied once into a throw-away OCI bundle. Medians come from hyperfine -N (no shell
# in the timed path). Run as root:  bench/startup.sh
#
# Environment:
#   RUNS=30      timed runs per tool (at least 20)
#   WARMUP=3     untimed runs before them
#   CYCLES=20    timed run -d/stop/rm cycles (at least 20)
#   NOOK_BIN     the nook to measure (default: ./nook of this checkout, built if missing)
#   VERBOSE=1    show hyperfine's own output
#
# Everything it creates lives in one mktemp -d directory (nook's NOOK_ROOT/NOOK_RUN,
# the bundles, the JSON) and is removed on exit, with any crun/runc container of
# this run (ids nookbench-PID-*) and any mount left under that directory.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
NOOK_BIN=${NOOK_BIN:-$REPO/nook}
RUNS=${RUNS:-30}
WARMUP=${WARMUP:-3}
CYCLES=${CYCLES:-20}
VERBOSE=${VERBOSE:-0}
TAG=nookbench-$$

BENCH=startup.sh
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"

[[ $(id -u) == 0 ]] || die "run as root (containers, namespaces, cgroups)"
[[ $RUNS =~ ^[0-9]+$ && $RUNS -ge 20 ]] || die "RUNS must be a number >= 20"
[[ $CYCLES =~ ^[0-9]+$ && $CYCLES -ge 20 ]] || die "CYCLES must be a number >= 20"
[[ $WARMUP =~ ^[0-9]+$ ]] || die "WARMUP must be a number"
[[ -x /usr/bin/python3 ]] || die "/usr/bin/python3 is needed to read the results"
PY=/usr/bin/python3

# ---- peers, from Debian's packages only ----------------------------------------
pkgs=()
command -v crun >/dev/null || pkgs+=(crun)
command -v runc >/dev/null || pkgs+=(runc)
command -v bwrap >/dev/null || pkgs+=(bubblewrap)
command -v hyperfine >/dev/null || pkgs+=(hyperfine)
if ((${#pkgs[@]})); then
	say "installing ${pkgs[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y "${pkgs[@]}" >&2 || { apt-get update >&2 && apt-get install -y "${pkgs[@]}" >&2; }
fi
for c in crun runc bwrap hyperfine unshare chroot findmnt; do
	command -v "$c" >/dev/null || die "$c is missing"
done

if [[ ! -x $NOOK_BIN ]]; then
	say "building nook"
	make -C "$REPO" nook >&2
fi
NOOK_BIN=$(readlink -f "$NOOK_BIN")

# ---- scratch space and its cleanup ----------------------------------------------
W=$(mktemp -d /tmp/nook-bench.XXXXXX)
export NOOK_ROOT=$W/nook-root NOOK_RUN=$W/nook-run
mkdir -p "$NOOK_ROOT" "$NOOK_RUN"
CIDS=()

cleanup() {
	local rc=$?
	set +e
	trap - EXIT INT TERM
	# containers of this run (crun/runc run delete them on exit; this catches a kill)
	for id in "${CIDS[@]}"; do
		crun delete -f "$id" &>/dev/null
		runc delete -f "$id" &>/dev/null
		find /sys/fs/cgroup -mindepth 1 -maxdepth 4 -depth -type d -name "$id" \
			-exec rmdir {} + &>/dev/null
	done
	bench_remove_scratch
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- nook's busybox image: built on the first run, then the shared rootfs -------
say "priming nook (builds the busybox image in a temporary NOOK_ROOT)"
"$NOOK_BIN" run --rm busybox -- /bin/true >&2 || die "nook run --rm busybox -- /bin/true failed"
IMG=$NOOK_ROOT/images/busybox/rootfs
[[ -x $IMG/bin/true || -L $IMG/bin/true ]] || die "no $IMG/bin/true"
ROOTFS=$W/rootfs
cp -a "$IMG" "$ROOTFS"

# ---- OCI bundles: `crun spec`, then args, terminal, root path, netns --------------
make_bundle() { # DIR NETNS(yes|no)
	local dir=$1 netns=$2
	mkdir -p "$dir"
	(cd "$dir" && crun spec)
	$PY - "$dir/config.json" "$ROOTFS" "$netns" <<-'EOF'
		import json, sys
		path, rootfs, netns = sys.argv[1:]
		c = json.load(open(path))
		c["process"]["args"] = ["/bin/true"]
		c["process"]["terminal"] = False
		c["root"]["path"] = rootfs
		if netns == "no":
		    c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "network"]
		json.dump(c, open(path, "w"), indent=2)
	EOF
}
make_bundle "$W/bundle-netns" yes
make_bundle "$W/bundle-nonetns" no

# crun 1.8 refuses a hybrid cgroup layout ("cgroups in hybrid mode not supported").
# Then hyperfine itself runs inside a private mount namespace in which
# /sys/fs/cgroup/unified is unmounted: only `crun run` is timed, never the wrapper.
CRUN_WRAP=()
CRUN_NOTE="crun run directly"
probe=$TAG-probe
CIDS+=("$probe")
if ! crun run -b "$W/bundle-netns" "$probe" </dev/null &>"$W/crun-probe.log"; then
	crun delete -f "$probe" &>/dev/null || true
	if grep -q "hybrid mode" "$W/crun-probe.log" && mountpoint -q /sys/fs/cgroup/unified; then
		CRUN_WRAP=(unshare -m --propagation private sh -c 'umount /sys/fs/cgroup/unified && exec "$@"' sh)
		CRUN_NOTE="hyperfine ran inside 'unshare -m' with /sys/fs/cgroup/unified unmounted (crun sees cgroup v1 only); only 'crun run' is timed"
	else
		CRUN_NOTE="crun run fails here: $(tail -1 "$W/crun-probe.log")"
	fi
fi

# ---- measuring -------------------------------------------------------------------
RESULTS=() # "label<TAB>json" in table order; json missing = failed

bench() { # LABEL KEY COMMAND-STRING [WRAPPER...]
	local label=$1 key=$2 cmd=$3
	shift 3
	local json=$W/$key.json log=$W/$key.log
	say "$label: $cmd"
	if "$@" hyperfine -N --warmup "$WARMUP" --runs "$RUNS" --export-json "$json" \
		-n "$label" "$cmd" </dev/null >"$log" 2>&1; then
		[[ $VERBOSE == 1 ]] && cat "$log" >&2
	else
		echo "   FAILED:" >&2
		sed 's/^/   | /' "$log" | tail -8 >&2
		rm -f "$json"
	fi
	RESULTS+=("$label	$json")
}

CNET=$TAG-crun-net CNONET=$TAG-crun-nonet RNET=$TAG-runc-net RNONET=$TAG-runc-nonet
CIDS+=("$CNET" "$CNONET" "$RNET" "$RNONET")

bench "floor (unshare+chroot)" floor \
	"unshare --fork --pid --mount --uts --ipc --net --mount-proc chroot $ROOTFS /bin/true"
bench "bwrap --unshare-all" bwrap \
	"bwrap --unshare-all --ro-bind $ROOTFS / --proc /proc --dev /dev /bin/true"
if [[ $CRUN_NOTE == "crun run fails here"* ]]; then
	RESULTS+=("crun (netns)	$W/none" "crun (no netns)	$W/none")
else
	bench "crun (netns)" crun-net "crun run -b $W/bundle-netns $CNET" "${CRUN_WRAP[@]}"
	bench "crun (no netns)" crun-nonet "crun run -b $W/bundle-nonetns $CNONET" "${CRUN_WRAP[@]}"
fi
bench "runc (netns)" runc-net "runc run -b $W/bundle-netns $RNET"
bench "runc (no netns)" runc-nonet "runc run -b $W/bundle-nonetns $RNONET"
bench "nook run --rm busybox" nook "$NOOK_BIN run --rm busybox -- /bin/true"

left=$("$NOOK_BIN" ls -a --json | $PY -c 'import json,sys; print(len(json.load(sys.stdin)))')
[[ $left == 0 ]] || echo "warning: $left nook instance(s) left after the --rm runs" >&2

# ---- lifecycle: nook run -d + nook stop + nook rm ------------------------------------
say "lifecycle: $CYCLES cycles of run -d / stop / rm (plus $WARMUP warm-up)"
$PY - "$NOOK_BIN" "$CYCLES" "$WARMUP" "$TAG" >"$W/lifecycle.json" <<-'EOF'
	import json, subprocess, sys, time
	nook, cycles, warmup, tag = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
	def timed(*args):
	    t = time.perf_counter()
	    subprocess.run([nook, *args], check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
	    return time.perf_counter() - t
	phases = {"run -d": [], "stop": [], "rm": [], "cycle": []}
	for i in range(warmup + cycles):
	    name = f"{tag}-cycle-{i}"
	    a = timed("run", "-d", "--name", name, "busybox", "--", "sleep", "1000")
	    b = timed("stop", name)
	    c = timed("rm", name)
	    if i >= warmup:
	        for k, v in zip(phases, (a, b, c, a + b + c)):
	            phases[k].append(v)
	json.dump(phases, sys.stdout)
EOF

# ---- report --------------------------------------------------------------------------
echo
echo "nook start-up benchmark  ($(date -u +%FT%TZ), $(uname -r), $(nproc) CPUs)"
echo "  $("$NOOK_BIN" version), $(crun --version | sed -n 1p), $(runc --version | sed -n 1p)," \
	"$(bwrap --version), $(hyperfine --version)"
echo "  rootfs: nook's busybox image ($(du -sh "$ROOTFS" | cut -f1)), command /bin/true," \
	"hyperfine -N --warmup $WARMUP --runs $RUNS"
echo "  crun: $CRUN_NOTE"
echo "  OCI bundles: 'crun spec' (read-only root, pid/ipc/uts/mount [+network] namespaces)"
echo
$PY - "${RESULTS[@]}" <<-'EOF'
	import json, os, sys
	rows = []
	for arg in sys.argv[1:]:
	    label, path = arg.split("\t")
	    r = json.load(open(path))["results"][0] if os.path.exists(path) else None
	    rows.append((label, r))
	nook = next((r for l, r in rows if l.startswith("nook") and r), None)
	print(f"{'tool':<30}{'median ms':>10}{'min ms':>9}{'stddev':>9}{'vs nook':>10}{'nook/x':>9}")
	for label, r in rows:
	    if r is None:
	        print(f"{label:<30}{'failed':>10}")
	        continue
	    vs = f"{r['median'] / nook['median']:.2f}" if nook else "-"
	    inv = f"{nook['median'] / r['median']:.2f}" if nook else "-"
	    print(f"{label:<30}{r['median']*1e3:>10.2f}{r['min']*1e3:>9.2f}{r['stddev']*1e3:>9.2f}{vs:>10}{inv:>9}")
EOF
echo
echo "nook lifecycle, median of $CYCLES cycles (wall time of each nook command, python loop):"
$PY - "$W/lifecycle.json" <<-'EOF'
	import json, statistics, sys
	p = json.load(open(sys.argv[1]))
	print(f"{'step':<30}{'median ms':>10}{'min ms':>9}{'max ms':>9}")
	for k, label in (("run -d", "nook run -d busybox sleep"), ("stop", "nook stop"),
	                 ("rm", "nook rm"), ("cycle", "run -d + stop + rm")):
	    v = p[k]
	    print(f"{label:<30}{statistics.median(v)*1e3:>10.2f}{min(v)*1e3:>9.2f}{max(v)*1e3:>9.2f}")
EOF
