package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/stickerd/stickerd/internal/flagenv"
)

// errHelp is returned by parseFlags for -h, -help and --help: the command
// prints its help and exits 0.
type errHelp struct{ fs *flag.FlagSet }

func (errHelp) Error() string { return "help requested" }

// errUsage is returned by parseFlags for a flag, an environment twin or an
// argument that cannot be used: the command prints it and exits 2.
type errUsage struct {
	fs  *flag.FlagSet
	err error
}

func (e errUsage) Error() string { return e.err.Error() }
func (e errUsage) Unwrap() error { return e.err }

// parseFlags parses a command's flags and their environment twins, and
// refuses more than maxArgs arguments after them (a flag after an argument
// would otherwise be ignored silently). The flag package prints nothing:
// run prints the help (on stdout) or the problem (on stderr) once it knows
// the command.
func parseFlags(fs *flag.FlagSet, args []string, maxArgs int) error {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := flagenv.Parse(fs, args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return errHelp{fs}
	case err != nil:
		return errUsage{fs, err}
	case fs.NArg() > maxArgs:
		return errUsage{fs, fmt.Errorf("unexpected argument %q (flags come before arguments)", fs.Arg(maxArgs))}
	}
	return nil
}

// printHelp prints a command's synopsis, summary and flags. Flags are listed
// as the flag package writes them ("  -name type"), which
// deployments/deployments_test.go reads.
func printHelp(w io.Writer, c command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "usage: stickerd %s [flags]%s\n\n%s\n\n", c.name, c.args, c.summary)
	fmt.Fprintf(w, "Flags may be written -name or --name. Each has an environment twin, STICKERD_ and its name in\n"+
		"upper case with dashes as underscores (--http-addr is %s); a flag given here wins.\n"+
		"STICKERD_LOG_LEVEL (debug, info, warn, error; default info) sets the log level.\n\n", flagenv.Name("http-addr"))
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}
