#!/bin/sh
# test-demo: the demo as an end-to-end test of libsds through its C ABI.
#   1. a short seeded run converges (exit status 0: every participant delivered
#      every other participant's message exactly once, nothing given up), with
#      both recovery paths used and the restarted participant caught up;
#   2. the same seed again gives the same run: the reports, timings left out,
#      are identical (they include a digest of every event handled);
#   3. another seed at 30% loss converges too, and is a different run.
# usage: demo/check_determinism.sh [path/to/sds_demo]
set -eu

demo=${1:-build/sds_demo}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sds-test-demo-XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

flags="--participants 5 --rounds 15 --quiet --no-timings"

fail() {
	echo "test-demo: FAILED: $*" >&2
	exit 1
}

run() { # seed loss out
	if ! "$demo" $flags --seed "$1" --loss "$2" > "$3" 2>&1; then
		cat "$3" >&2
		fail "seed $1, loss $2: the demo did not converge exactly once"
	fi
}

field() { # pattern awk-field file
	awk -v pat="$1" -v f="$2" 'index($0, pat) { print $f; exit }' "$3"
}

positive() { # name value
	case "$2" in
	'' | *[!0-9]*) fail "$1: no number in the report" ;;
	0) fail "$1 is 0" ;;
	esac
}

start=$(date +%s)
run 7 0.2 "$tmp/a"
run 7 0.2 "$tmp/b"
run 8 0.3 "$tmp/c"

for f in a c; do
	positive "messages recovered by SDS-R ($f)" "$(field 'recovered by SDS-R' 4 "$tmp/$f")"
	positive "messages recovered by retrieval ($f)" "$(field 'recovered by retrieval' 4 "$tmp/$f")"
	positive "messages missed by the stopped participant ($f)" "$(field ' was down for rounds ' 9 "$tmp/$f")"
	grep -q 'all from its log before the stop' "$tmp/$f" || fail "the restarted participant did not restore its log ($f)"
	grep -q '^  given up  *0$' "$tmp/$f" || fail "a message was given up ($f)"
done

if ! diff -u "$tmp/a" "$tmp/b" > "$tmp/diff"; then
	cat "$tmp/diff" >&2
	fail "the same seed gave two different runs"
fi
[ "$(field 'trace digest' 3 "$tmp/a")" != "$(field 'trace digest' 3 "$tmp/c")" ] ||
	fail "seeds 7 and 8 gave the same trace digest"

sed -n 's/^convergence *//p' "$tmp/a" | sed 's/^/test-demo: seed 7, loss 20%: converged at /'
sed -n 's/^convergence *//p' "$tmp/c" | sed 's/^/test-demo: seed 8, loss 30%: converged at /'
echo "test-demo: ok (3 runs, same seed twice identical, $(($(date +%s) - start)) s)"
