#!/usr/bin/env bash
# bench/podman.sh: how long `podman run --rm --network none IMAGE /bin/true` takes with nook
# as podman's OCI runtime (build/nook-runtime), beside podman with crun and with runc.
#
# podman, conmon and the image are the same for every runtime: only --runtime changes. The
# image is a busybox rootfs imported for this run (localhost/nookbench-PID) and removed at the
# end. Medians come from hyperfine -N (no shell in the timed path). Run as root: bench/podman.sh
#
# Environment:
#   RUNS=20      timed runs per runtime (at least 5)
#   WARMUP=2     untimed runs before them
#   NOOK_BIN     the nook to measure (default: ./nook of this checkout, built if missing)
#   VERBOSE=1    show hyperfine's own output
#
# A runtime that cannot run here is reported with its error, never left out silently. crun
# 1.8 refuses this kind of host's hybrid cgroup layout ("cgroups in hybrid mode not
# supported"); it is then measured a second way too, with podman and crun inside a private
# mount namespace where /sys/fs/cgroup/unified is unmounted, and labelled so.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
NOOK_BIN=${NOOK_BIN:-$REPO/nook}
RUNS=${RUNS:-20}
WARMUP=${WARMUP:-2}
VERBOSE=${VERBOSE:-0}
TAG=nookbench-$$
IMAGE=localhost/$TAG:latest

die() { echo "podman.sh: $*" >&2; exit 1; }
say() { echo "== $*" >&2; }

[[ $(id -u) == 0 ]] || die "run as root (podman with cgroupfs, namespaces)"
[[ $RUNS =~ ^[0-9]+$ && $RUNS -ge 5 ]] || die "RUNS must be a number >= 5"
[[ $WARMUP =~ ^[0-9]+$ ]] || die "WARMUP must be a number"
[[ -x /usr/bin/python3 ]] || die "/usr/bin/python3 is needed to read the results"
PY=/usr/bin/python3

# ---- peers, from Debian's packages only ----------------------------------------
pkgs=()
command -v podman >/dev/null || pkgs+=(podman)
command -v crun >/dev/null || pkgs+=(crun)
command -v runc >/dev/null || pkgs+=(runc)
command -v hyperfine >/dev/null || pkgs+=(hyperfine)
[[ -x /bin/busybox ]] || pkgs+=(busybox-static)
if ((${#pkgs[@]})); then
	say "installing ${pkgs[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y "${pkgs[@]}" >&2 || { apt-get update >&2 && apt-get install -y "${pkgs[@]}" >&2; }
fi
for c in podman hyperfine unshare; do
	command -v "$c" >/dev/null || die "$c is missing"
done

if [[ ! -x $NOOK_BIN ]]; then
	say "building nook"
	make -C "$REPO" nook >&2
fi
NOOK_BIN=$(readlink -f "$NOOK_BIN")

# ---- scratch space and its cleanup ----------------------------------------------
W=$(mktemp -d /tmp/nook-podman-bench.XXXXXX)
# The runtime must be called nook-runtime (argv[0]): a link of this run's own.
NOOK_RT=$W/nook-runtime
ln -s "$NOOK_BIN" "$NOOK_RT"
PODMAN=(podman --cgroup-manager cgroupfs --events-backend file)
RUN=(run --rm --network none --ulimit nofile=1024:1024 --ulimit nproc=4096:4096 "$IMAGE" /bin/true)

cleanup() {
	local rc=$?
	set +e
	trap - EXIT INT TERM
	# containers of this run's image (--rm removes them; this catches a kill), then the image
	local ids
	ids=$(podman ps -a -q --filter "ancestor=$IMAGE" 2>/dev/null)
	# shellcheck disable=SC2086 # container ids are hex words
	[[ -n $ids ]] && podman rm -f -t 0 $ids &>/dev/null
	podman rmi -f "$IMAGE" &>/dev/null
	rm -rf --one-file-system "$W"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- the image: busybox and its applets ----------------------------------------------
say "importing $IMAGE"
mkdir -p "$W/rootfs/bin" "$W/rootfs/proc" "$W/rootfs/dev" "$W/rootfs/sys" "$W/rootfs/tmp" "$W/rootfs/etc"
cp /bin/busybox "$W/rootfs/bin/busybox"
for a in sh true echo sleep cat; do ln -s busybox "$W/rootfs/bin/$a"; done
tar -C "$W/rootfs" -cf "$W/rootfs.tar" .
podman import "$W/rootfs.tar" "$IMAGE" >/dev/null

# ---- which runtimes can run here ------------------------------------------------------
RESULTS=() # "label<TAB>json<TAB>note" in table order; json missing = failed
NOTES=()

# probe LABEL RUNTIME [WRAPPER...]: one untimed run; on failure the row says why.
probe() {
	local label=$1 runtime=$2
	shift 2
	if "$@" "${PODMAN[@]}" --runtime "$runtime" "${RUN[@]}" </dev/null >"$W/probe.log" 2>&1; then
		return 0
	fi
	local why
	why=$(grep -v '^$' "$W/probe.log" | tail -1)
	NOTES+=("$label: cannot run here: ${why:-exit status $?}")
	return 1
}

bench() { # LABEL KEY RUNTIME [WRAPPER...]
	local label=$1 key=$2 runtime=$3
	shift 3
	local json=$W/$key.json log=$W/$key.log
	local cmd="${PODMAN[*]} --runtime $runtime ${RUN[*]}"
	say "$label: $cmd${*:+ (inside: $*)}"
	if "$@" hyperfine -N --warmup "$WARMUP" --runs "$RUNS" --export-json "$json" \
		-n "$label" "$cmd" </dev/null >"$log" 2>&1; then
		[[ $VERBOSE == 1 ]] && cat "$log" >&2
	else
		echo "   FAILED:" >&2
		sed 's/^/   | /' "$log" | tail -8 >&2
		NOTES+=("$label: failed during the timed runs: $(grep -v '^$' "$log" | tail -1)")
		rm -f "$json"
	fi
	RESULTS+=("$label	$json")
}

# hide_unified CMD...: CMD in a private mount namespace without the cgroup v2 mount.
HIDE_UNIFIED=(unshare -m --propagation private sh -c 'umount /sys/fs/cgroup/unified && exec "$@"' sh)

for rt in nook crun runc; do
	case $rt in
	nook) path=$NOOK_RT label="nook-runtime" ;;
	*) path=$(command -v "$rt" || true) label=$rt ;;
	esac
	if [[ -z $path ]]; then
		NOTES+=("$label: not installed")
		RESULTS+=("$label	$W/none")
		continue
	fi
	if probe "$label" "$path"; then
		bench "$label" "$rt" "$path"
	else
		RESULTS+=("$label	$W/none")
		if [[ $rt == crun ]] && grep -q "hybrid mode" "$W/probe.log" && mountpoint -q /sys/fs/cgroup/unified; then
			label="crun (v2 mount hidden)"
			if probe "$label" "$path" "${HIDE_UNIFIED[@]}"; then
				NOTES+=("$label: podman and crun ran in 'unshare -m' with /sys/fs/cgroup/unified unmounted (crun sees cgroup v1 only); the timed command is podman's")
				bench "$label" crun-hidden "$path" "${HIDE_UNIFIED[@]}"
			else
				RESULTS+=("$label	$W/none")
			fi
		fi
	fi
done

# ---- report --------------------------------------------------------------------------
echo
echo "podman run --rm start-up benchmark  ($(date -u +%FT%TZ), $(uname -r), $(nproc) CPUs)"
echo "  $(podman --version), $("$NOOK_RT" --version | head -1)," \
	"$( (crun --version 2>/dev/null || echo crun missing) | sed -n 1p)," \
	"$( (runc --version 2>/dev/null || echo runc missing) | sed -n 1p), $(hyperfine --version)"
echo "  command: podman --runtime R --cgroup-manager cgroupfs --events-backend file ${RUN[*]}"
echo "  image: busybox rootfs ($(du -sh "$W/rootfs" | cut -f1)); hyperfine -N --warmup $WARMUP --runs $RUNS"
for n in "${NOTES[@]}"; do
	echo "  $n"
done
echo
$PY - "${RESULTS[@]}" <<-'EOF'
	import json, os, sys
	rows = []
	for arg in sys.argv[1:]:
	    label, path = arg.split("\t")
	    r = json.load(open(path))["results"][0] if os.path.exists(path) else None
	    rows.append((label, r))
	nook = next((r for l, r in rows if l.startswith("nook") and r), None)
	print(f"{'runtime':<26}{'median ms':>10}{'mean ms':>9}{'min ms':>9}{'stddev':>9}{'x/nook':>9}{'nook/x':>9}")
	for label, r in rows:
	    if r is None:
	        print(f"{label:<26}{'cannot run here (see above)':>30}")
	        continue
	    vs = f"{r['median'] / nook['median']:.2f}" if nook else "-"
	    inv = f"{nook['median'] / r['median']:.2f}" if nook else "-"
	    print(f"{label:<26}{r['median']*1e3:>10.1f}{r['mean']*1e3:>9.1f}{r['min']*1e3:>9.1f}"
	          f"{r['stddev']*1e3:>9.1f}{vs:>9}{inv:>9}")
EOF
