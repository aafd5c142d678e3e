#!/bin/sh
# instr.sh BINARY [NATIVE_BENCH]: instructions per operation of
# tests/bench/instr (and, given build/native_bench, of a wrap+unwrap pair
# through the native C API), counted by callgrind. Each operation runs twice, n = N1 and n = N2 after the same setup;
# (total(N2) - total(N1)) / (N2 - N1) is one operation, setup excluded.
# GODEBUG makes Go binaries run under valgrind (no rdtscp, no async preemption
# signals). GOGC=off and one P keep the collector's timing out of the counts,
# which then vary by up to about a thousand instructions per operation from run to run
# (map hash seeds), unlike wall-clock time; collection costs are not counted
# (allocation and zeroing are), except on the lines that say so (GOGC=100:
# those vary by several thousand, with where the cycles fall).
set -eu
bin=$1
native=${2:-}
N1=${N1:-200}
N2=${N2:-1200}
export GODEBUG=cpu.rdtscp=off,asyncpreemptoff=1 GOMAXPROCS=1 GOGC=off
count() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" -max "$N2" "$@" 2>&1 |
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
run() {
  label=$1; shift
  a=$(count -n "$N1" "$@")
  b=$(count -n "$N2" "$@")
  printf '%-44s %10d instructions/op\n' "$label" $(( (b - a) / (N2 - N1) ))
}
run "AppendWrap (reused buffer)" -op appendwrap
run "Wrap (new slice)" -op wrap
run "core/sds WrapOutgoingMessage" -op sdswrap
run "core/sds AppendWrapOutgoingMessage" -op sdsappendwrap
# The same wraps with the collector on (GOGC=100): what a fresh result slice
# per message costs in collection, against a reused buffer.
# More operations, so that several collection cycles fall in the difference.
run_gc() { (GOGC=100; N2=$((N2 + 3000)); run "$@"); }
run_gc "Wrap (new slice), collector included" -op wrap
run_gc "AppendWrap, collector included" -op appendwrap
run "Unwrap, 100 own unacknowledged" -op unwrap -out 100
run "Unwrap, 1,000 own unacknowledged" -op unwrap -out 1000
run "Unwrap, 10,000 own unacknowledged" -op unwrap -out 10000
run "Unwrap, 0.4 message, 100 own unacknowledged" -op unwrapv04 -out 100
run "core/sds UnwrapReceivedMessage, 100 own" -op sdsunwrap -out 100
if [ -n "$native" ]; then
  # native_bench N 100 1: N pairs on one channel after the same start.
  a=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$native" "$N1" 100 1 2>&1 | sed -n 's/.*Collected : \([0-9]*\).*/\1/p')
  b=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$native" "$N2" 100 1 2>&1 | sed -n 's/.*Collected : \([0-9]*\).*/\1/p')
  printf '%-44s %10d instructions/op\n' "native API wrap+unwrap pair (C ABI)" $(( (b - a) / (N2 - N1) ))
fi
