// Package flagenv gives every command-line flag an environment-variable
// twin, as docs/api.md (section 1.2) describes: --http-addr is also
// STICKERD_HTTP_ADDR. A flag given on the command line wins over its
// variable.
package flagenv

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

// Name is the environment variable of a flag: STICKERD_ and the flag's
// name in upper case with dashes as underscores.
func Name(flagName string) string {
	return "STICKERD_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Parse parses args into fs, then fills every flag not given on the
// command line from its environment variable.
func Parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || err != nil {
			return
		}
		if v, ok := os.LookupEnv(Name(f.Name)); ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s=%q: %w", Name(f.Name), v, e)
			}
		}
	})
	return err
}

// List is a comma-separated flag value.
type List []string

func (l *List) String() string { return strings.Join(*l, ",") }

// Set implements flag.Value.
func (l *List) Set(s string) error {
	*l = nil
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}
