package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/logos-messaging/libsds-go/core/store/sqlite"
)

// storeCommand summarizes a database, optionally narrowed to one namespace
// and one channel.
func storeCommand(args []string, stderr io.Writer) (any, error) {
	fs := newFlagSet("store", stderr)
	namespace := fs.String("namespace", "", "show only this namespace")
	channel := fs.String("channel", "", "show only this channel")
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	if fs.NArg() != 1 {
		return nil, fmt.Errorf("%w: store takes one database path", errUsage)
	}
	in, err := sqlite.Inspect(fs.Arg(0))
	if err != nil {
		return nil, err
	}
	setFlags := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { setFlags[f.Name] = true })
	if setFlags["namespace"] || setFlags["channel"] {
		kept := in.Namespaces[:0]
		for _, ns := range in.Namespaces {
			if setFlags["namespace"] && ns.Namespace != *namespace {
				continue
			}
			if setFlags["channel"] {
				chans := ns.Channels[:0]
				for _, ch := range ns.Channels {
					if ch.Channel == *channel {
						chans = append(chans, ch)
					}
				}
				ns.Channels = chans
			}
			kept = append(kept, ns)
		}
		in.Namespaces = kept
	}
	return in, nil
}
