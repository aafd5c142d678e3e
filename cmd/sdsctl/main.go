// Command sdsctl is what an engineer reaches for when a message "never
// arrives": it decodes SDS wire messages into readable JSON and summarizes the
// SQLite stores libsds writes.
//
//	sdsctl decode [-in auto|hex|base64|csv|raw] [FILE | - | TEXT]
//	sdsctl store [-namespace NS] [-channel CH] PATH
//
// decode reads a message from a file, from standard input (-, or no argument)
// or from the command line, as raw bytes, hex, base64, or the comma-separated
// decimal bytes (optionally in brackets) that nim-sds's C APIs return; -in auto
// (the default) tells them apart. The bloom filter is summarized (parameters,
// bits set), not dumped.
//
// store opens the database read-only, without any lock a running manager would
// notice, and prints each namespace's channels with their lamport clock and
// buffer sizes, the retrieval hints kept, and SQLite's integrity check.
//
// Both print JSON on standard output. Exit status: 0 ok, 1 the input could not
// be decoded or the store read, 2 usage.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// errUsage marks an error that is the caller's misuse (exit status 2).
var errUsage = errors.New("usage")

const usage = `usage:
  sdsctl decode [-in auto|hex|base64|csv|raw] [FILE | - | TEXT]
  sdsctl store [-namespace NS] [-channel CH] PATH
`

// run is the whole command, with its streams passed in so tests can drive it.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var (
		out any
		err error
	)
	switch args[0] {
	case "decode":
		out, err = decodeCommand(args[1:], stdin, stderr)
	case "store":
		out, err = storeCommand(args[1:], stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		err = fmt.Errorf("%w: unknown command %q", errUsage, args[0])
	}
	if err != nil {
		fmt.Fprintf(stderr, "sdsctl: %v\n", err)
		if errors.Is(err, errUsage) {
			fmt.Fprint(stderr, usage)
			return 2
		}
		return 1
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		fmt.Fprintf(stderr, "sdsctl: %v\n", err)
		return 1
	}
	return 0
}

// newFlagSet returns a flag set that reports errors as usage errors instead of
// exiting.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return nil
}
