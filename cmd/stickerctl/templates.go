package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	stickerd "github.com/stickerd/stickerd/sdk/go"
)

// Synopses of the template and batch commands.
const (
	templateSynopsis  = "stickerctl template create|update|list|show|render|delete …"
	tplCreateSynopsis = "stickerctl template create [--server URL] [--api-key KEY] [--json] TEMPLATE.json"
	tplUpdateSynopsis = "stickerctl template update [--server URL] [--api-key KEY] [--json] TEMPLATE_ID TEMPLATE.json"
	tplListSynopsis   = "stickerctl template list [--server URL] [--api-key KEY] [--json]"
	tplShowSynopsis   = "stickerctl template show [--server URL] [--api-key KEY] [--version N] [--json] TEMPLATE_ID"
	tplRenderSynopsis = "stickerctl template render [--server URL] [--api-key KEY] [--version N] [--var NAME=VALUE]… [--vars FILE.json] [-o OUT] [-q] TEMPLATE_ID"
	tplDeleteSynopsis = "stickerctl template delete [--server URL] [--api-key KEY] TEMPLATE_ID"
)

func templateCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: "+templateSynopsis)
		return exitUsage
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "create":
		return tplCreate(ctx, rest, stdout, stderr)
	case "update":
		return tplUpdate(ctx, rest, stdout, stderr)
	case "list":
		return tplList(ctx, rest, stdout, stderr)
	case "show":
		return tplShow(ctx, rest, stdout, stderr)
	case "render":
		return tplRender(ctx, rest, stdout, stderr)
	case "delete":
		return tplDelete(ctx, rest, stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprintf(stdout, "usage: %s\n\n  %s\n  %s\n  %s\n  %s\n  %s\n  %s\n", templateSynopsis, tplCreateSynopsis,
			tplUpdateSynopsis, tplListSynopsis, tplShowSynopsis, tplRenderSynopsis, tplDeleteSynopsis)
		return exitOK
	}
	fmt.Fprintf(stderr, "stickerctl template: unknown command %q (create, update, list, show, render, delete)\n", sub)
	return exitUsage
}

// command is the parsed flags and arguments of a subcommand.
type command struct {
	srv        *serverOpts
	client     *stickerd.Client
	positional []string
}

// setup parses a subcommand's flags (defined by def on fs) and makes its
// client; want is how many arguments it takes. When ok is false the
// command ends with code.
func setup(fs *flag.FlagSet, synopsis string, args []string, want int, stdout, stderr io.Writer) (cmd command, code int, ok bool) {
	cmd.srv = serverFlags(fs)
	cmd.positional, code, ok = parseArgs(fs, args, synopsis, stdout, stderr)
	if !ok {
		return cmd, code, false
	}
	if len(cmd.positional) != want {
		fmt.Fprintf(stderr, "usage: %s\n", synopsis)
		return cmd, exitUsage, false
	}
	if cmd.client, ok = cmd.srv.client(stderr); !ok {
		return cmd, exitUsage, false
	}
	return cmd, exitOK, true
}

func printJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func tplCreate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("template create", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print the template as JSON")
	cmd, code, ok := setup(fs, tplCreateSynopsis, args, 1, stdout, stderr)
	if !ok {
		return code
	}
	return tplWrite(cmd, cmd.positional[0], *asJSON, stdout, stderr, func(def json.RawMessage) (*stickerd.Template, error) {
		return cmd.client.CreateTemplate(ctx, def)
	})
}

func tplUpdate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("template update", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print the new version as JSON")
	cmd, code, ok := setup(fs, tplUpdateSynopsis, args, 2, stdout, stderr)
	if !ok {
		return code
	}
	return tplWrite(cmd, cmd.positional[1], *asJSON, stdout, stderr, func(def json.RawMessage) (*stickerd.Template, error) {
		return cmd.client.UpdateTemplate(ctx, stickerd.TemplateID(cmd.positional[0]), def)
	})
}

// tplWrite reads a template's definition from path (- for stdin), sends
// it with write, and prints the version the server made.
func tplWrite(cmd command, path string, asJSON bool, stdout, stderr io.Writer, write func(json.RawMessage) (*stickerd.Template, error)) int {
	def, err := readSpec(path)
	if err != nil {
		fmt.Fprintf(stderr, "stickerctl: %v\n", err)
		return exitUsage
	}
	t, err := write(json.RawMessage(def))
	if err != nil {
		return reportErr(stderr, cmd.srv.url, err, exitInvalid)
	}
	if asJSON {
		printJSON(stdout, t)
		return exitOK
	}
	fmt.Fprintf(stdout, "%s version %d: %s\n", t.ID, t.Version, t.Name)
	return exitOK
}

func tplList(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("template list", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print the templates as JSON")
	cmd, code, ok := setup(fs, tplListSynopsis, args, 0, stdout, stderr)
	if !ok {
		return code
	}
	var all []stickerd.Template
	for t, err := range cmd.client.AllTemplates(ctx, stickerd.PageOptions{Limit: 100}) {
		if err != nil {
			return reportErr(stderr, cmd.srv.url, err, exitFailed)
		}
		all = append(all, *t)
	}
	if *asJSON {
		printJSON(stdout, all)
		return exitOK
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tVERSION\tNAME\tVARIABLES\tUPDATED")
	for _, t := range all {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", t.ID, t.Version, t.Name, strings.Join(varNames(t.Variables), " "), when(&t.UpdatedAt))
	}
	tw.Flush()
	return exitOK
}

func varNames(vars map[string]stickerd.Variable) []string {
	names := make([]string, 0, len(vars))
	for n := range vars {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func tplShow(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("template show", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print the template as JSON")
	version := fs.Int("version", 0, "show this version (default: the latest)")
	cmd, code, ok := setup(fs, tplShowSynopsis, args, 1, stdout, stderr)
	if !ok {
		return code
	}
	t, err := cmd.client.GetTemplate(ctx, stickerd.TemplateID(cmd.positional[0]), *version)
	if err != nil {
		return reportErr(stderr, cmd.srv.url, err, exitFailed)
	}
	if *asJSON {
		printJSON(stdout, t)
		return exitOK
	}
	fmt.Fprintf(stdout, "%s version %d: %s\n  updated %s, created %s\n", t.ID, t.Version, t.Name, when(&t.UpdatedAt), when(&t.CreatedAt))
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  VARIABLE\tTYPE\tDEFAULT\tCONSTRAINTS\tLABEL")
	for _, n := range varNames(t.Variables) {
		v := t.Variables[n]
		def := "(required)"
		if len(v.Default) > 0 {
			def = string(v.Default)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", n, v.Type, def, constraints(v), v.Label)
	}
	tw.Flush()
	return exitOK
}

func constraints(v stickerd.Variable) string {
	var c []string
	if v.MaxLength != nil {
		c = append(c, fmt.Sprintf("at most %d characters", *v.MaxLength))
	}
	if v.Min != nil {
		c = append(c, "min "+strconv.FormatFloat(*v.Min, 'f', -1, 64))
	}
	if v.Max != nil {
		c = append(c, "max "+strconv.FormatFloat(*v.Max, 'f', -1, 64))
	}
	if len(v.Enum) > 0 {
		var vals []string
		for _, e := range v.Enum {
			vals = append(vals, string(e))
		}
		c = append(c, "one of "+strings.Join(vals, ", "))
	}
	if len(c) == 0 {
		return "-"
	}
	return strings.Join(c, "; ")
}

func tplDelete(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("template delete", flag.ContinueOnError)
	cmd, code, ok := setup(fs, tplDeleteSynopsis, args, 1, stdout, stderr)
	if !ok {
		return code
	}
	if err := cmd.client.DeleteTemplate(ctx, stickerd.TemplateID(cmd.positional[0])); err != nil {
		return reportErr(stderr, cmd.srv.url, err, exitFailed)
	}
	fmt.Fprintf(stdout, "%s deleted\n", cmd.positional[0])
	return exitOK
}

// varFlags collects --var NAME=VALUE.
type varFlags []string

func (v *varFlags) String() string     { return strings.Join(*v, ",") }
func (v *varFlags) Set(s string) error { *v = append(*v, s); return nil }

// tplRender renders a template with variables from --vars (a JSON object)
// and --var NAME=VALUE (read as the variable's type), follows it like
// render, and downloads the result with -o.
func tplRender(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("template render", flag.ContinueOnError)
	version := fs.Int("version", 0, "render this version (default: the latest)")
	var vars varFlags
	fs.Var(&vars, "var", "NAME=VALUE of a variable (repeatable); a number or boolean variable's VALUE is read as one")
	varsFile := fs.String("vars", "", "a JSON file of an object of variable values")
	out := fs.String("o", "", "output file (default: do not download)")
	quiet := fs.Bool("q", false, "no progress bar")
	cmd, code, ok := setup(fs, tplRenderSynopsis, args, 1, stdout, stderr)
	if !ok {
		return code
	}
	id := stickerd.TemplateID(cmd.positional[0])
	values := map[string]any{}
	if *varsFile != "" {
		data, err := os.ReadFile(*varsFile)
		if err == nil {
			err = json.Unmarshal(data, &values)
		}
		if err != nil {
			fmt.Fprintf(stderr, "stickerctl: --vars %s: %v\n", *varsFile, err)
			return exitUsage
		}
	}
	if len(vars) > 0 {
		t, err := cmd.client.GetTemplate(ctx, id, *version)
		if err != nil {
			return reportErr(stderr, cmd.srv.url, err, exitInvalid)
		}
		for _, kv := range vars {
			name, val, ok := strings.Cut(kv, "=")
			if !ok {
				fmt.Fprintf(stderr, "stickerctl: --var %q: want NAME=VALUE\n", kv)
				return exitUsage
			}
			values[name] = typed(t.Variables[name].Type, val)
		}
	}
	req := stickerd.TemplateRender{TemplateID: id, TemplateVersion: *version, Variables: values}
	body, _ := json.Marshal(req)
	sum := sha256.Sum256(body)
	r := &remoteRender{client: cmd.client, server: cmd.srv.url, stderr: stderr, quiet: *quiet, bar: progressBar(stderr, *quiet)}
	job, _, err := cmd.client.RenderTemplate(ctx, req, stickerd.SubmitOption{IdempotencyKey: "stickerctl-" + hex.EncodeToString(sum[:])[:40]})
	if err != nil {
		return reportErr(stderr, cmd.srv.url, err, exitInvalid)
	}
	if !job.Status.Terminal() {
		jobID := job.ID
		r.say("submitted %s (template %s version %d)", jobID, job.TemplateID, job.TemplateVersion)
		job, err = cmd.client.Wait(ctx, jobID, r.bar)
		r.bar(-1)
		if ctx.Err() != nil {
			return r.cancel(jobID)
		}
		if err != nil {
			return reportErr(stderr, cmd.srv.url, err, exitFailed)
		}
	}
	if err := job.Err(); err != nil {
		fmt.Fprintf(stderr, "stickerctl: %s %s\n", job.ID, job.Status)
		return reportErr(stderr, cmd.srv.url, err, exitFailed)
	}
	if *out != "" {
		if err := r.download(ctx, job.ID, *out); err != nil {
			return reportErr(stderr, cmd.srv.url, err, exitFailed)
		}
		o := job.Output
		fmt.Fprintf(stderr, "wrote %s: %s %dx%d, %.2f s, %d bytes, job %s\n", *out, o.Format, o.Width, o.Height, o.Duration, o.Bytes, job.ID)
	}
	fmt.Fprintf(stdout, "%s %s\n", job.ID, job.Status)
	return exitOK
}

// typed reads a --var value as its variable's type: a number or a boolean
// when it reads as one (the server refuses it otherwise, naming it).
func typed(typ, val string) any {
	switch typ {
	case "number":
		if _, err := strconv.ParseFloat(val, 64); err == nil && json.Valid([]byte(val)) {
			return json.Number(val)
		}
	case "boolean":
		if b, err := strconv.ParseBool(val); err == nil {
			return b
		}
	}
	return val
}
