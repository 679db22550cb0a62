// Package cli implements rulebrush's command-line subcommands (predict, eval, edit, ...).
// Each subcommand parses its own flags and, with --json, prints exactly one JSON document
// on stdout; human-readable text otherwise. The contract is in DESIGN.md: scripts rely on it.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
)

// command is one subcommand: it parses args and writes its result to out.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, out io.Writer) error
}

var commands = map[string]command{}

// diag receives flag usage and errors, so stdout carries only the command's result
// (with --json, exactly one JSON document). Run points it at its stderr.
var diag io.Writer = io.Discard

// register adds a subcommand; called from each command file's init.
func register(name, summary string, run func(ctx context.Context, args []string, out io.Writer) error) {
	commands[name] = command{summary, run}
}

// IsCommand reports whether name is a subcommand, so main can tell CLI use from GUI flags.
func IsCommand(name string) bool {
	_, ok := commands[name]
	return ok || name == "help" || name == "-h" || name == "--help"
}

// Run executes the subcommand named by args[0] and returns the process exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "rulebrush: unknown command %q\n", args[0])
		usage(stderr)
		return 2
	}
	diag = stderr
	if err := c.run(ctx, args[1:], stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "rulebrush %s: %v\n", args[0], err)
		var ue usageError
		if errors.As(err, &ue) {
			return 2
		}
		return 1
	}
	return 0
}

func usage(w io.Writer) {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintln(w, "usage: rulebrush [--model M.onnx] [--session S]   (opens the app)")
	fmt.Fprintln(w, "       rulebrush COMMAND [flags]                  (COMMAND -h for its flags)")
	fmt.Fprintln(w, "commands:")
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
}

// usageError marks a mistake in the command line (exit code 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

// newFlags returns a flag set that reports errors instead of exiting, with the --json flag
// every subcommand shares. Usage text goes to stderr, never to stdout.
func newFlags(name string) (*flag.FlagSet, *bool) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(diag)
	return fs, fs.Bool("json", false, "print one JSON document on stdout")
}

// parse parses args, turning flag errors into usage errors.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	return nil
}

// writeJSON prints v as one indented JSON document.
func writeJSON(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// multiFlag collects a repeatable string flag (--model a --model b).
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
