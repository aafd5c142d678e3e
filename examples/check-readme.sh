#!/bin/sh
# A README's example must be the example file verbatim: this compares the
# first fenced block of the given language under the given "## " heading with
# the file and fails, showing the difference, if they drift apart.
# usage: examples/check-readme.sh README HEADING LANGUAGE FILE
#   e.g. examples/check-readme.sh README.md "C quick start" c examples/c/two_peers.c
set -eu
[ $# -eq 4 ] || { echo "usage: $0 README HEADING LANGUAGE FILE" >&2; exit 2; }
readme=$1 heading=$2 lang=$3 example=$4
block=$(mktemp "${TMPDIR:-/tmp}/sds-readme-XXXXXX")
trap 'rm -f "$block"' EXIT INT TERM
awk -v heading="## $heading" -v fence="\`\`\`$lang" '
  /^## / { section = (index($0, heading) == 1) }
  section && !inblock && $0 == fence { inblock = 1; found = 1; next }
  inblock && /^```$/ { exit }
  inblock { print }
  END { if (!found) exit 2 }
' "$readme" > "$block" || { echo "check-readme: no $lang block under \"## $heading\" in $readme" >&2; exit 1; }
if ! diff -u "$example" "$block" >&2; then
	echo "check-readme: FAILED: the \"$heading\" example in $readme differs from $example (diff above)" >&2
	exit 1
fi
echo "check-readme: the \"$heading\" example in $readme is $example verbatim"
