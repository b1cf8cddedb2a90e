#!/bin/bash
# What bridge networking adds to a start: `nook run --rm busybox -- /bin/true` with --net
# bridge (veth born in the container's namespace, address, route, /etc/hosts) against
# --net none, and against `crun run` of the same rootfs with a network namespace, in one
# run. Goal: bridge adds under 5 ms. Needs root; installs hyperfine and crun if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || apt-get install -y -qq hyperfine >/dev/null
command -v crun >/dev/null || apt-get install -y -qq crun >/dev/null
make -s nook
tmp=$(mktemp -d /tmp/nook-net-bench.XXXXXX)
CID=nook-net-bench-$$
# The root's default network has its own bridge and firewall table: removed before the root.
trap 'crun delete -f "$CID" >/dev/null 2>&1; ./nook net rm nook >/dev/null 2>&1; rm -rf "$tmp"' EXIT
export NOOK_ROOT=$tmp/root NOOK_RUN=$tmp/run
./nook run --rm busybox -- /bin/true >/dev/null # builds the image and the default network

# crun's bundle: the same busybox rootfs, a network namespace (crun spec's default).
mkdir -p "$tmp/bundle"
cp -a "$NOOK_ROOT/images/busybox/rootfs" "$tmp/bundle/rootfs"
(cd "$tmp/bundle" && crun spec)
/usr/bin/python3 - "$tmp/bundle/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["process"]["args"] = ["/bin/true"]
c["process"]["terminal"] = False
assert any(n["type"] == "network" for n in c["linux"]["namespaces"])
json.dump(c, open(sys.argv[1], "w"))
PY
# crun 1.8 refuses a hybrid cgroup layout: then every variant runs inside one private mount
# namespace where /sys/fs/cgroup/unified is unmounted (nook does not use it on such a host).
WRAP=()
if ! crun run -b "$tmp/bundle" "$CID" </dev/null >"$tmp/probe.log" 2>&1; then
	crun delete -f "$CID" >/dev/null 2>&1 || true
	if grep -q "hybrid mode" "$tmp/probe.log" && mountpoint -q /sys/fs/cgroup/unified; then
		WRAP=(unshare -m --propagation private sh -c 'umount /sys/fs/cgroup/unified && exec "$@"' sh)
		echo "note: crun refuses this host's hybrid cgroups; all three ran with /sys/fs/cgroup/unified unmounted"
	else
		echo "note: crun cannot run here: $(tail -1 "$tmp/probe.log")"
	fi
fi
"${WRAP[@]}" hyperfine -N --warmup 5 --runs 40 --export-json "$tmp/h.json" \
	'./nook run --rm --net none busybox -- /bin/true' \
	'./nook run --rm --net bridge busybox -- /bin/true' \
	"crun run -b $tmp/bundle $CID" >/dev/null 2>"$tmp/hyperfine.log" ||
	{ echo "hyperfine failed:"; tail -5 "$tmp/hyperfine.log"; exit 1; }
/usr/bin/python3 - "$tmp/h.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
none, bridge, crun = (x["median"] * 1000 for x in r)
print(f"{'variant':<34}{'median ms':>10}")
print(f"{'nook run --rm --net none':<34}{none:>10.2f}")
print(f"{'nook run --rm --net bridge':<34}{bridge:>10.2f}")
print(f"{'crun run (network namespace)':<34}{crun:>10.2f}")
print(f"bridge networking adds {bridge - none:.2f} ms (goal: under 5 ms); "
      f"nook with a bridge is {bridge / crun:.2f}x crun with an empty netns")
PY
