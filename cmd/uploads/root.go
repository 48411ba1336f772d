package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/uploadkit/uploads"
	"github.com/uploadkit/uploads/conformance"
)

// environment is what a run of the command reads from and writes to, passed in rather than taken from os so
// that tests can run the command in-process.
type environment struct {
	stdin       io.Reader
	stdout      io.Writer
	stderr      io.Writer
	getenv      func(string) string
	stderrIsTTY bool
	stdoutIsTTY bool
	width       func() int // columns of the terminal stderr is; nil when unknown
	pending     *pending   // the upload under way, for a second interrupt; may be nil
}

// app is one run of the command: its environment and the flags every subcommand shares.
type app struct {
	env environment

	apiKey       string
	baseURL      string
	organization string
	project      string
	json         bool
	record       string // directory to record every exchange in, with conformance.NewRecorder
	timeout      time.Duration
	retries      int

	ran bool // a subcommand's own code started (so an error is not a usage error from cobra)
}

const rootLong = `uploads sends large files to the OpenAI Uploads API (or a server that speaks it, such as
uploads-server): it splits a file into parts, sends them in parallel with a live progress bar, completes the
upload, and cancels it on the server when interrupted.

Start with 'uploads put FILE --purpose PURPOSE'; the other commands drive one step of an upload each.

Environment:
  OPENAI_API_KEY      API key (or --api-key)
  OPENAI_BASE_URL     base URL of the API, default https://api.openai.com/v1 (or --base-url)
  OPENAI_ORG_ID       organization sent with every request (or --organization)
  OPENAI_PROJECT_ID   project sent with every request (or --project)

Output:
  On a terminal, a command prints a summary of the object it made or shows. When standard output is
  not a terminal, a command that makes an object prints its ID alone on stdout, for a script to
  capture, and the summary on stderr: create prints the upload's ID, add-part the part's ID,
  complete and put the File's ID. --json prints the whole object instead, as the API sent it (for
  put, the completed Upload with its File). When the answer to complete was lost and the File
  cannot be told apart, complete and put exit 0 (the upload did complete) but print no ID on
  stdout, and say on stderr which Files it may be. Progress bars are drawn on stderr when it is a terminal;
  where there is no terminal, no escape code is ever written.

    U=$(uploads create --filename data.jsonl --purpose batch --bytes 1234)
    P=$(uploads add-part "$U" data.jsonl)
    F=$(uploads complete "$U" "$P")
    uploads put data.jsonl --purpose batch --json | jq -r .file.id

Exit codes:
  0    success
  1    the API answered with an error, or reading or writing a file failed
  2    usage error: an unknown command or flag, a missing or malformed argument, no API key
  130  interrupted (Ctrl-C or SIGTERM); put cancels its upload on the server first, and a second
       Ctrl-C exits at once`

// run executes the command line args and returns the process's exit code.
func run(ctx context.Context, args []string, env environment) int {
	a := &app{env: env}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetIn(env.stdin)
	root.SetOut(env.stdout)
	root.SetErr(env.stderr)
	cmd, err := root.ExecuteContextC(ctx)
	code := exitCode(ctx, err, a.ran)
	switch code {
	case exitOK:
	case exitUsage:
		printError(env.stderr, err)
		fmt.Fprintf(env.stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	case exitInterrupted:
		// put has already said, in its one line, what became of its upload.
		if !errors.Is(err, errInterrupted) {
			fmt.Fprintln(env.stderr, "interrupted")
		}
	default:
		printError(env.stderr, err)
		if hint := a.baseURLHint(err); hint != "" {
			fmt.Fprintln(env.stderr, "hint: "+hint)
		}
	}
	return code
}

// rootCommand builds the command tree.
func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "uploads",
		Short:         "Send large files to the OpenAI Uploads API",
		Long:          rootLong,
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE:          requireSubcommand,
	}
	root.CompletionOptions.DisableDefaultCmd = true
	root.Version = version()
	root.SetVersionTemplate("uploads {{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{msg: err.Error()} })

	flags := root.PersistentFlags()
	flags.StringVar(&a.apiKey, "api-key", "", "API key (default $OPENAI_API_KEY)")
	flags.StringVar(&a.baseURL, "base-url", "", "base URL of the API (default $OPENAI_BASE_URL, else https://api.openai.com/v1)")
	flags.StringVar(&a.organization, "organization", "", "organization ID (default $OPENAI_ORG_ID)")
	flags.StringVar(&a.project, "project", "", "project ID (default $OPENAI_PROJECT_ID)")
	flags.BoolVar(&a.json, "json", false, "print the API's JSON object instead of a summary")
	flags.StringVar(&a.record, "record", "", "write every HTTP exchange to a file in this directory, secrets redacted (check them with 'make conformance EXCHANGES=DIR')")
	flags.DurationVar(&a.timeout, "timeout", time.Minute, "give up an attempt when the server has not answered, or a part or download has not moved a byte, for this long (0: wait for ever)")
	flags.IntVar(&a.retries, "retries", 2, "how many times a failed call is retried (0: never)")

	root.AddCommand(
		a.putCommand(),
		a.createCommand(),
		a.addPartCommand(),
		a.completeCommand(),
		a.cancelCommand(),
		a.fileCommand(),
	)
	return root
}

// requireSubcommand is the action of a command that only groups others: called alone, it is a usage error.
func requireSubcommand(cmd *cobra.Command, _ []string) error {
	names := make([]string, 0, len(cmd.Commands()))
	for _, sub := range cmd.Commands() {
		if sub.IsAvailableCommand() {
			names = append(names, sub.Name())
		}
	}
	return usagef("%s needs a command: one of %s", cmd.CommandPath(), strings.Join(names, ", "))
}

// action wraps a subcommand's code so that the app knows it ran: errors before that come from cobra's parsing.
func (a *app) action(f func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		a.ran = true
		return f(cmd, args)
	}
}

// config is where and as whom the client talks, from the flags, else the environment.
type config struct {
	apiKey       string
	baseURL      string
	organization string
	project      string
}

// config resolves the flags and the environment. A missing API key is a usage error.
func (a *app) config() (config, error) {
	pick := func(flag, env string) string {
		if flag != "" {
			return flag
		}
		return strings.TrimSpace(a.env.getenv(env))
	}
	c := config{
		apiKey:       pick(a.apiKey, "OPENAI_API_KEY"),
		baseURL:      pick(a.baseURL, "OPENAI_BASE_URL"),
		organization: pick(a.organization, "OPENAI_ORG_ID"),
		project:      pick(a.project, "OPENAI_PROJECT_ID"),
	}
	if c.apiKey == "" {
		return c, usagef("no API key: set OPENAI_API_KEY or pass --api-key")
	}
	return c, nil
}

// client builds the API client from the configuration.
func (a *app) client() (*uploads.Client, error) {
	c, err := a.config()
	if err != nil {
		return nil, err
	}
	if a.timeout < 0 {
		return nil, usagef("--timeout %v is negative", a.timeout)
	}
	if a.retries < 0 {
		return nil, usagef("--retries %d is negative", a.retries)
	}
	opts := []uploads.Option{
		uploads.WithAPIKey(c.apiKey),
		uploads.WithUserAgent("uploads-cli/" + uploads.Version),
		uploads.WithTimeout(a.timeout),
		uploads.WithStallTimeout(a.timeout),
		uploads.WithMaxRetries(a.retries),
	}
	if c.baseURL != "" {
		opts = append(opts, uploads.WithBaseURL(c.baseURL))
	}
	if c.organization != "" {
		opts = append(opts, uploads.WithOrganization(c.organization))
	}
	if c.project != "" {
		opts = append(opts, uploads.WithProject(c.project))
	}
	if a.record != "" {
		rec, err := conformance.NewRecorder(a.record, nil, conformance.OnRecordError(func(err error) {
			fmt.Fprintf(a.env.stderr, "uploads: recording: %v\n", err)
		}))
		if err != nil {
			return nil, fmt.Errorf("--record: %w", err)
		}
		opts = append(opts, uploads.WithHTTPClient(&http.Client{Transport: rec}))
	}
	client, err := uploads.NewClient(opts...)
	if err != nil {
		return nil, usagef("configure the client: %v", err)
	}
	return client, nil
}

// version is the command's version from its build information: the module version (a pseudo-version with
// the commit when built from a checkout, "(devel)" when the build did not stamp one), and the Go release.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown version)"
	}
	v := info.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var revision, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if short := revision[:min(12, len(revision))]; short != "" && !strings.Contains(v, short) {
		v += ", commit " + short
		if modified == "true" {
			v += " with local changes"
		}
	}
	return v + ", " + info.GoVersion
}

// baseURLHint is a hint for an error that looks like a base URL without its /v1: the API's
// "Invalid URL" 404, or a 404 that is not the API's envelope at all.
func (a *app) baseURLHint(err error) string {
	var apiErr *uploads.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound {
		return ""
	}
	if apiErr.Type != "" && !strings.HasPrefix(apiErr.Message, "Invalid URL") {
		return ""
	}
	base := a.baseURL
	if base == "" {
		base = strings.TrimSpace(a.env.getenv("OPENAI_BASE_URL"))
	}
	if base == "" {
		return ""
	}
	base = strings.TrimRight(base, "/")
	if strings.HasSuffix(base, "/v1") {
		return ""
	}
	return fmt.Sprintf("the base URL %s does not end in /v1; the API is usually served under it: try %s/v1", base, base)
}
