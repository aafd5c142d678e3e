#!/bin/sh
# The hand-kept export list must name exactly the functions sds.h and libsds.h
# declare (every declaration starts a line with LIBSDS_API and names the
# function before its first parenthesis). Run from the repository root.
set -eu
declared=$(mktemp)
trap 'rm -f "$declared"' EXIT
grep -h '^LIBSDS_API ' include/sds.h include/libsds.h |
  sed -E 's/^([^(]*[ *])([A-Za-z_][A-Za-z0-9_]*)[ ]*\(.*/\2/' | sort -u > "$declared"
if ! diff -u tests/abi/exports.txt "$declared"; then
  echo "check-declared: tests/abi/exports.txt differs from the functions declared in include/" >&2
  exit 1
fi
echo "check-declared: exports.txt matches the $(wc -l < "$declared") declared functions"
