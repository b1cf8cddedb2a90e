#!/bin/bash
# What bridge networking adds to a start: `nook run --rm busybox -- /bin/true` with --net
# bridge (veth born in the container's namespace, address, route, /etc/hosts) against
# --net none, in one run. Goal: bridge adds under 5 ms. Needs root and hyperfine.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || apt-get install -y -qq hyperfine >/dev/null
make -s nook
tmp=$(mktemp -d /tmp/nook-net-bench.XXXXXX)
# The root's default network has its own bridge and firewall table: removed before the root.
trap './nook net rm nook >/dev/null 2>&1; rm -rf "$tmp"' EXIT
export NOOK_ROOT=$tmp/root NOOK_RUN=$tmp/run
./nook run --rm busybox -- /bin/true >/dev/null # builds the image and the default network
hyperfine -N --warmup 5 --runs 40 --export-json "$tmp/h.json" \
	'./nook run --rm --net none busybox -- /bin/true' \
	'./nook run --rm --net bridge busybox -- /bin/true' >/dev/null
/usr/bin/python3 - "$tmp/h.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
none, bridge = (x["median"] * 1000 for x in r)
print(f"{'variant':<34}{'median ms':>10}")
print(f"{'nook run --rm --net none':<34}{none:>10.2f}")
print(f"{'nook run --rm --net bridge':<34}{bridge:>10.2f}")
print(f"bridge networking adds {bridge - none:.2f} ms (goal: under 5 ms)")
PY
