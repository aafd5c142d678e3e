#!/bin/sh
# The "Sample report" in demo/README.md is a real run: `sds_demo --no-timings`
# with defaults, the temporary directory's random suffix masked.
#   demo/sample_report.sh check [sds_demo]   fail if the README's sample is stale
#   demo/sample_report.sh write [sds_demo]   regenerate it (make demo-readme)
set -eu

mode=${1:?usage: sample_report.sh check|write [path/to/sds_demo]}
demo=${2:-build/sds_demo}
readme=$(dirname "$0")/README.md
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sds-demo-readme-XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

"$demo" --no-timings > "$tmp/run" 2>&1 || { cat "$tmp/run" >&2; echo "sample_report: the demo failed" >&2; exit 1; }
sed -e 's|/sds-demo-[A-Za-z0-9]\{6\}|/sds-demo-XXXXXX|g' "$tmp/run" > "$tmp/sample"

# The sample sits in the fenced block after the "<!-- sample-report -->" marker.
awk -v sample="$tmp/sample" '
	/^<!-- sample-report -->$/ { print; marker = 1; next }
	marker == 1 && /^```$/ { print; while ((getline line < sample) > 0) print line; marker = 2; skipping = 1; next }
	skipping && /^```$/ { skipping = 0; print; next }
	skipping { next }
	{ print }
	END { if (marker != 2) { print "sample_report: no sample-report marker in README.md" > "/dev/stderr"; exit 1 } }
' "$readme" > "$tmp/README.md"

case "$mode" in
check)
	if ! diff -u "$readme" "$tmp/README.md"; then
		echo "sample_report: demo/README.md's sample report is stale: run 'make demo-readme'" >&2
		exit 1
	fi
	echo "sample_report: demo/README.md's sample report matches a fresh run"
	;;
write) cp "$tmp/README.md" "$readme" && echo "sample_report: wrote $readme" ;;
*) echo "usage: sample_report.sh check|write [path/to/sds_demo]" >&2; exit 2 ;;
esac
