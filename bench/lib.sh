# Shared by the bench scripts (sourced): messages, and taking down the private NOOK_ROOT a
# script ran nook in. The caller sets BENCH (its name), NOOK_BIN, PY and W (its scratch
# directory, holding NOOK_ROOT).

die() { echo "$BENCH: $*" >&2; exit 1; }
say() { echo "== $*" >&2; }

# Every instance of the private root, its default network (a bridge and a firewall table
# of its own on the host), the mounts under W deepest first, then W itself.
bench_remove_scratch() {
	if [[ -d $NOOK_ROOT/instances ]]; then
		local names
		names=$("$NOOK_BIN" ls -a --json 2>/dev/null |
			$PY -c 'import json,sys; print(" ".join(i["name"] for i in json.load(sys.stdin)))' 2>/dev/null)
		# shellcheck disable=SC2086 # names are [a-zA-Z0-9_.-] words
		[[ -n $names ]] && "$NOOK_BIN" rm -f $names &>/dev/null
		"$NOOK_BIN" net rm nook &>/dev/null
	fi
	local m
	while read -r m; do
		umount -l "$m" &>/dev/null
	done < <(findmnt -rn -o TARGET | grep -F "$W" | sort -r)
	if findmnt -rn -o TARGET | grep -qF "$W"; then
		echo "$BENCH: mounts remain under $W; not removing it" >&2
	else
		rm -rf --one-file-system "$W"
	fi
}
