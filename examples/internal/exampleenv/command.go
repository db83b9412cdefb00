package exampleenv

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
)

// Main runs an example's run function with the command-line arguments,
// writing to standard output, under a context that an interrupt (Ctrl-C)
// cancels. It exits 1 when run fails, after printing the error, and 0
// after -h.
func Main(name string, run func(ctx context.Context, out io.Writer, args []string) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Stdout, os.Args[1:])
	stop()
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	default:
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}

// Command is an example's command line: a flag.FlagSet whose Parse
// returns errors (flag.ErrHelp for -h, which Main turns into exit status
// 0) instead of exiting, and, for an example that changes a real cluster,
// the -yes flag that lets it go ahead.
type Command struct {
	*flag.FlagSet
	yes *bool
}

// NewCommand returns the command line of the example name. An example
// that changes a real cluster says what -yes lets it do ("restarts each
// instance"), which -h shows as "go ahead against a real cluster
// (restarts each instance)"; a read-only example passes "" and takes no
// -yes.
func NewCommand(name, yes string) *Command {
	c := &Command{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError)}
	if yes != "" {
		c.yes = c.Bool("yes", false, "go ahead against a real cluster ("+yes+")")
	}
	return c
}

// Open is the package's Open for an example whose arguments are parsed:
// the mode line goes to out unless opts.Out is set, and -yes confirms
// opts.Changes. An example that declares Changes must take -yes.
func (c *Command) Open(ctx context.Context, out io.Writer, opts Options) (*Env, error) {
	if !c.Parsed() {
		return nil, fmt.Errorf("exampleenv: %s opens its cluster before parsing its arguments", c.Name())
	}
	if opts.Changes != "" && c.yes == nil {
		return nil, fmt.Errorf("exampleenv: %s %s but takes no -yes: say what -yes allows in NewCommand", c.Name(), opts.Changes)
	}
	if c.yes != nil && *c.yes {
		opts.Yes = true
	}
	if opts.Out == nil {
		opts.Out = out
	}
	return Open(ctx, opts)
}

// List is the value of a flag of comma-separated names ("-roles a,b"):
// each name trimmed of white space, empty ones left out. Given twice, the
// flag keeps the last list, as a string flag would. -h calls the value
// "value" unless the usage back-quotes a word for it ("comma-separated
// `roles` to ...").
type List []string

// String returns the names joined by commas.
func (l *List) String() string {
	if l == nil {
		return ""
	}
	return strings.Join(*l, ",")
}

// Set replaces the names with those of s.
func (l *List) Set(s string) error {
	*l = nil
	for name := range strings.SplitSeq(s, ",") {
		if name = strings.TrimSpace(name); name != "" {
			*l = append(*l, name)
		}
	}
	return nil
}
