#!/usr/bin/env bash
# bench/vm.sh: nook's microVM monitor against QEMU's microvm machine, on the test guest
# (tests/vm-guest) booted in its minimal mode (nook.mode=minimal: only the serial port,
# then a reset), so both VMMs run exactly the same guest binary:
#   1. boot to reset: wall time from process start to exit of
#        nook run --rm --vm --kernel guest.bin --cmdline nook.mode=minimal busybox
#        runvm (nook's VMM alone, through libnook, no CLI, no instance state)
#        qemu-system-x86_64 -M microvm -enable-kvm -no-reboot -kernel guest.bin, and the same
#          with the devices the guest does not use turned off (acpi, rtc, pic, pit, option ROMs)
#      medians of RUNS runs each, interleaved, and the ratios to QEMU;
#   2. memory beyond guest RAM: the monitor's RSS minus the guest pages it touched (the
#      RSS of the guest RAM mapping in /proc/PID/smaps), with the guest parked
#      (nook.mode=minimal,hang), for nook and for QEMU.
# One run prints everything; nothing is asserted. Run as root:  bench/vm.sh
#
# Environment:
#   RUNS=10          timed runs per VMM (at least 3)
#   MEM=128          guest RAM in MiB, the same for every VMM
#   TIMEOUT=30       seconds before one boot counts as failed
#   QEMU_MACHINE     the -M argument (default: microvm)
#   NOOK_BIN         the nook to measure (default: ./nook of this checkout, built if missing)
#
# QEMU comes from Debian (apt-get install -y qemu-system-x86) when missing. Everything
# the script creates lives in one mktemp -d directory (nook's NOOK_ROOT/NOOK_RUN, logs)
# and is removed on exit, with any instance or QEMU process of this run.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
NOOK_BIN=${NOOK_BIN:-$REPO/nook}
RUNS=${RUNS:-10}
MEM=${MEM:-128}
TIMEOUT=${TIMEOUT:-30}
QEMU_MACHINE=${QEMU_MACHINE:-microvm}
GUEST=$REPO/build/vm-guest/guest.bin
RUNVM=$REPO/build/vm-guest/runvm

BENCH=vm.sh
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"

[[ $(id -u) == 0 ]] || die "run as root (KVM, cgroups, namespaces)"
[[ $RUNS =~ ^[0-9]+$ && $RUNS -ge 3 ]] || die "RUNS must be a number >= 3"
[[ $MEM =~ ^[0-9]+$ && $MEM -ge 16 ]] || die "MEM must be a number of MiB >= 16"
[[ $TIMEOUT =~ ^[0-9]+$ && $TIMEOUT -ge 1 ]] || die "TIMEOUT must be a number of seconds"
[[ -x /usr/bin/python3 ]] || die "/usr/bin/python3 is needed to time and report"
[[ -c /dev/kvm ]] || die "no /dev/kvm on this host"
PY=/usr/bin/python3

# ---- the peer, from Debian's packages only ----------------------------------------
if ! command -v qemu-system-x86_64 >/dev/null; then
	say "installing qemu-system-x86"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y --no-install-recommends qemu-system-x86 >&2 ||
		{ apt-get update >&2 && apt-get install -y --no-install-recommends qemu-system-x86 >&2; }
fi
QEMU=$(command -v qemu-system-x86_64) || die "qemu-system-x86_64 is missing"

if [[ ! -x $NOOK_BIN ]]; then
	say "building nook"
	make -C "$REPO" nook >&2
fi
NOOK_BIN=$(readlink -f "$NOOK_BIN")
say "building the test guest and runvm"
make -s -C "$REPO" build/vm-guest/guest.bin build/vm-guest/runvm >&2

# ---- scratch space and its cleanup ----------------------------------------------
W=$(mktemp -d /tmp/nook-vmbench.XXXXXX)
export NOOK_ROOT=$W/nook-root NOOK_RUN=$W/nook-run
mkdir -p "$NOOK_ROOT" "$NOOK_RUN"
QEMU_PIDS=$W/qemu.pids # every QEMU started in the background, one PID a line
: >"$QEMU_PIDS"

cleanup() {
	local rc=$?
	set +e
	trap - EXIT INT TERM
	local pid
	while read -r pid; do
		kill "$pid" &>/dev/null
	done <"$QEMU_PIDS"
	bench_remove_scratch
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say "priming nook (builds the busybox image in a temporary NOOK_ROOT)"
"$NOOK_BIN" run --rm busybox -- /bin/true >&2 || die "nook run --rm busybox -- /bin/true failed"

KVM_KIND=$("$NOOK_BIN" info 2>/dev/null | sed -n 's/^kvm: *//p')

# ---- measuring and the report: one Python program --------------------------------
say "boot to reset: $RUNS runs each of nook, runvm and QEMU ($QEMU_MACHINE); then memory"
echo
echo "nook microVM benchmark  ($(date -u +%FT%TZ), $(uname -r), $(nproc) CPUs)"
echo "  kvm: ${KVM_KIND:-unknown}"
echo "  $("$NOOK_BIN" version), $("$QEMU" --version | sed -n 1p)"
echo "  guest: tests/vm-guest ($(stat -c %s "$GUEST") bytes, bzImage), cmdline nook.mode=minimal," \
	"$MEM MiB RAM, 1 vCPU"
$PY - "$NOOK_BIN" "$RUNVM" "$QEMU" "$QEMU_MACHINE" "$GUEST" "$MEM" "$RUNS" "$TIMEOUT" "$W" <<-'EOF'
	import json, os, statistics, subprocess, sys, threading, time
	nook, runvm, qemu, machine, guest, mem, runs, timeout, work = sys.argv[1:]
	mem, runs, timeout = int(mem), int(runs), int(timeout)
	tag = f"vmbench-{os.getpid()}"

	def qemu_cmd(append, serial, m=machine):
	    return [qemu, "-M", m, "-enable-kvm", "-cpu", "host", "-m", f"{mem}M", "-smp", "1",
	            "-nodefaults", "-no-user-config", "-display", "none", "-serial", serial,
	            "-monitor", "none", "-no-reboot", "-kernel", guest, "-append", append]

	BOOT = "nook.mode=minimal"
	# QEMU's best case: without the devices this guest does not use.
	LEAN = "microvm,acpi=off,rtc=off,pic=off,pit=off,x-option-roms=off"
	vmms = {
	    "nook run --rm --vm": [nook, "run", "--rm", "--vm", "--memory", f"{mem}M", "--kernel", guest,
	                           "--cmdline", BOOT, "busybox"],
	    "runvm (nook's VMM alone)": [runvm, "--mem", str(mem), "--cmdline", BOOT, guest],
	    f"qemu -M {machine}": qemu_cmd(BOOT, "stdio"),
	    "qemu -M microvm, lean": qemu_cmd(BOOT, "stdio", LEAN),
	}

	def boot(cmd):
	    """One boot, timed from process start: to the guest's first console line ("hello"), to
	    its last ("done"), and to the VMM's exit. ok when both lines came and the VMM exited 0."""
	    err = open(os.path.join(work, "boot.err"), "w+")
	    t = time.perf_counter()
	    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err,
	                         text=True, errors="replace")
	    killer = threading.Timer(timeout, p.kill)
	    killer.start()
	    hello = done = None
	    tail = []
	    for line in p.stdout:
	        now = time.perf_counter() - t
	        if hello is None and line.startswith("nook-guest: hello"):
	            hello = now
	        if line.startswith("nook-guest: done"):
	            done = now
	        tail = (tail + [line.rstrip()])[-3:]
	    rc = p.wait()
	    total = time.perf_counter() - t
	    timed_out = not killer.is_alive()
	    killer.cancel()
	    err.seek(0)
	    stderr = err.read().strip()
	    err.close()
	    ok = rc == 0 and hello is not None and done is not None and not timed_out
	    why = "" if ok else ((f"no exit within {timeout} s" if timed_out else f"exit {rc}")
	                         + f"; console: {' | '.join(tail)!r}; stderr: {stderr[-300:]!r}")
	    return (total, hello, done), ok, why

	# One untimed boot each: warms the page cache, and shows whether a VMM boots it at all.
	times = {k: [] for k in vmms}
	failed = {}
	for k, cmd in vmms.items():
	    _, ok, why = boot(cmd)
	    if not ok:
	        failed[k] = why
	for i in range(runs):
	    order = list(vmms)[i % len(vmms):] + list(vmms)[:i % len(vmms)]
	    for k in order:
	        if k in failed:
	            continue
	        t, ok, why = boot(vmms[k])
	        if ok:
	            times[k].append(t)
	        else:
	            failed.setdefault(k, why)

	med = lambda k, f: statistics.median(f(x) for x in times[k])
	print()
	print(f"1. boot to reset, wall time from process start to exit ({runs} runs each, interleaved), medians")
	print(f"{'VMM':<28}{'total ms':>9}{'min ms':>8}{'x qemu':>8}{'ok':>7}"
	      f"{'to hello':>10}{'hello>done':>11}{'done>exit':>10}")
	qk = f"qemu -M {machine}"
	qmed = med(qk, lambda x: x[0]) if times[qk] else None
	for k in vmms:
	    if not times[k]:
	        print(f"{k:<28}{'failed':>9}")
	        continue
	    total = med(k, lambda x: x[0])
	    ratio = f"{total / qmed:.2f}" if qmed else "-"
	    print(f"{k:<28}{total*1e3:>9.1f}{min(x[0] for x in times[k])*1e3:>8.1f}{ratio:>8}"
	          f"{f'{len(times[k])}/{runs}':>7}{med(k, lambda x: x[1])*1e3:>10.1f}"
	          f"{med(k, lambda x: x[2] - x[1])*1e3:>11.1f}{med(k, lambda x: x[0] - x[2])*1e3:>10.1f}")
	for k, why in failed.items():
	    print(f"  {k} failed: {why}")
	nk = "nook run --rm --vm"
	if qmed and times[nk]:
	    r = med(nk, lambda x: x[0]) / qmed
	    lk = "qemu -M microvm, lean"
	    lean = f"; against the lean QEMU {med(nk, lambda x: x[0]) / med(lk, lambda x: x[0]):.2f}x" \
	        if times[lk] else ""
	    print(f"  nook/qemu = {r:.2f}x (goal <= 0.30x: {'met' if r <= 0.3 else 'not met'}){lean}")
	elif not qmed:
	    print("  no nook/qemu ratio: QEMU did not boot the guest on this host (reason above)")
	print("  to hello: VMM start + guest boot to its first console line; hello>done: the guest's own"
	      " run (serial output);")
	print("  done>exit: reset to process exit. QEMU also runs its firmware (qboot), which enters the"
	      " guest's 16-bit setup code;")
	print("  nook and runvm enter the 64-bit entry directly. lean: -M " + LEAN)

	# Where nook's time goes: one more run with the monitor's own phase timings.
	p = subprocess.run(vmms[nk][:4] + ["--timings"] + vmms[nk][4:], stdin=subprocess.DEVNULL,
	                   capture_output=True, text=True, timeout=timeout)
	line = next((l for l in p.stderr.splitlines() if " booted: " in l), "")
	if line:
	    print("  one nook run with --timings:" + line.split(" booted:", 1)[1])

	# ---- 2. memory beyond guest RAM -------------------------------------------------------
	def smaps(pid):
	    """(total RSS, total Private_Dirty, guest RAM RSS, guest RAM Private_Dirty, file RSS), KiB.
	    Guest RAM is the anonymous mapping exactly MEM MiB long (the largest one if none is)."""
	    maps, cur = [], None
	    with open(f"/proc/{pid}/smaps") as f:
	        for line in f:
	            head = line.split()
	            if "-" in head[0] and not head[0].endswith(":"):
	                lo, hi = (int(x, 16) for x in head[0].split("-"))
	                cur = {"kib": (hi - lo) >> 10, "path": head[5] if len(head) > 5 else "", "Rss": 0,
	                       "Private_Dirty": 0}
	                maps.append(cur)
	            elif head[0] in ("Rss:", "Private_Dirty:"):
	                cur[head[0][:-1]] = int(head[1])
	    anon = [m for m in maps if not m["path"]]
	    ram = [m for m in anon if m["kib"] == mem << 10] or sorted(anon, key=lambda m: m["kib"])[-1:]
	    g = ram[0]
	    file_rss = sum(m["Rss"] for m in maps if m["path"].startswith("/"))
	    return (sum(m["Rss"] for m in maps), sum(m["Private_Dirty"] for m in maps), g["Rss"],
	            g["Private_Dirty"], file_rss)

	def wait_for(pred, secs=20.0):
	    end = time.monotonic() + secs
	    while time.monotonic() < end:
	        if pred():
	            return True
	        time.sleep(0.05)
	    return pred()

	PARK = "nook.mode=minimal,hang"
	rows, notes = [], []

	def nook_row(label, cmdline):
	    name = f"{tag}-{len(rows)}"
	    p = subprocess.run([nook, "run", "-d", "--vm", "--name", name, "--memory", f"{mem}M", "--kernel",
	                        guest, "--cmdline", cmdline, "busybox"], stdin=subprocess.DEVNULL,
	                       capture_output=True, text=True)
	    if p.returncode != 0:
	        notes.append(f"{label}: nook run -d failed: {p.stderr.strip()[-300:]}")
	        return
	    try:
	        logs = lambda: subprocess.run([nook, "logs", name], capture_output=True, text=True).stdout
	        if not wait_for(lambda: "nook-guest: hanging" in logs()):
	            notes.append(f"{label}: the guest did not park: {logs().strip()[-300:]!r}")
	            return
	        st = json.loads(subprocess.run([nook, "inspect", name], capture_output=True, text=True,
	                                       check=True).stdout)["State"]
	        rows.append((label, st["monitor_pid"], smaps(st["monitor_pid"])))
	    finally:
	        subprocess.run([nook, "rm", "-f", name], capture_output=True)

	def qemu_row(label):
	    log = os.path.join(work, "qemu-mem.log")
	    q = subprocess.Popen(qemu_cmd(PARK, f"file:{log}"), stdin=subprocess.DEVNULL,
	                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
	    with open(os.path.join(work, "qemu.pids"), "a") as f:
	        f.write(f"{q.pid}\n")
	    try:
	        read = lambda: open(log, errors="replace").read() if os.path.exists(log) else ""
	        if not wait_for(lambda: "nook-guest: hanging" in read() or q.poll() is not None):
	            notes.append(f"{label}: the guest did not park: {read().strip()[-300:]!r}")
	        elif q.poll() is not None:
	            notes.append(f"{label}: QEMU exited {q.returncode}: {q.stderr.read().strip()[-300:]}")
	        else:
	            rows.append((label, q.pid, smaps(q.pid)))
	    finally:
	        if q.poll() is None:
	            q.terminate()
	            try:
	                q.wait(10)
	            except subprocess.TimeoutExpired:
	                q.kill()
	                q.wait()

	nook_row("nook (minimal guest)", PARK)
	nook_row("nook (full guest: PIT, IRQs, rng)", "nook.mode=hang")
	qemu_row(f"qemu -M {machine} (minimal guest)")

	mib = lambda kib: f"{kib / 1024:.2f}"
	print()
	print(f"2. memory beyond guest RAM ({mem} MiB guest, parked after boot), MiB; from /proc/PID/smaps")
	print(f"{'VMM':<38}{'RSS':>8}{'guest':>8}{'overhead':>10}{'files':>8}{'anon':>8}")
	for label, pid, (rss, pd, grss, gpd, frss) in rows:
	    print(f"{label:<38}{mib(rss):>8}{mib(grss):>8}{mib(rss - grss):>10}{mib(frss):>8}{mib(pd - gpd):>8}")
	for n in notes:
	    print(f"  {n}")
	nm = next((r for r in rows if r[0].startswith("nook (minimal")), None)
	qm = next((r for r in rows if r[0].startswith("qemu")), None)
	if nm:
	    o = nm[2][0] - nm[2][2]
	    print(f"  nook overhead {o / 1024:.2f} MiB (goal <= 5 MiB, Firecracker's bound: "
	          f"{'met' if o <= 5 << 10 else 'not met'})"
	          + (f"; qemu/nook = {(qm[2][0] - qm[2][2]) / o:.1f}x" if qm and o else ""))
	print("  guest = RSS of the guest RAM mapping (pages the guest touched, in 2 MiB steps with THP);"
	      " overhead = RSS - guest;")
	print("  files = the part of RSS that is the binary and its shared libraries;"
	      " anon = Private_Dirty outside guest RAM.")
	print("  Not in any RSS: KVM's own kernel memory (page tables, vCPU state).")
EOF
