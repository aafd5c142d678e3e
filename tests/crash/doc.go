// Package crash holds the crash test of the SQLite store through the C ABI
// (issue #4): crash_test.go starts crash_child.c (built by `make test-crash`
// against build/libsds.so) again and again on one database, kills it with
// SIGKILL while an operation is in flight, and checks after each kill that the
// database is intact and that the state it holds is one the operations could
// have left, with no operation half there. Without SDS_CRASH_CHILD (the plain
// `go test ./...`) the test skips.
package crash
