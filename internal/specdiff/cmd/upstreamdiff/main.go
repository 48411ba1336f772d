// Command upstreamdiff compares openapi/uploads.yaml with a copy of the official published
// OpenAPI document, prints every difference in the operations the spec implements and the
// schemas they reach, and exits with status 1 when a difference is not listed in
// openapi/DIVERGENCES.md.
//
// Usage, from the repository root:
//
//	go run ./internal/specdiff/cmd/upstreamdiff -upstream FILE [-spec FILE] [-divergences FILE]
//		[-extract FILE] [-documentation] [-whole /uploads]
//
// FILE is the published document, YAML or JSON, gzipped or not, as saved; nothing is fetched,
// and a URL is refused. -documentation compares descriptions, summaries and titles too. Under
// the path prefixes of -whole (default /uploads) every published operation must be in the spec;
// elsewhere (the Files API, of which the spec has what an upload's File needs) only the spec's
// own operations are looked for.
//
// The exit status is 1 when a difference is not listed, or when a row of the divergences
// explains nothing (the table must say what is true of the document compared).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/uploadkit/uploads/internal/specdiff/upstream"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "upstream-diff:", err)
		os.Exit(1)
	}
}

// errUnlisted is returned when differences are not listed; the report already says which.
var errUnlisted = errors.New("differences from the published document not listed in the divergences")

// errStale is returned when rows of the divergences explain nothing; the report says which.
var errStale = errors.New("rows of the divergences that match no difference")

func run(_ context.Context, args []string, stdout io.Writer) error {
	flags := flag.NewFlagSet("upstreamdiff", flag.ContinueOnError)
	var (
		upstreamPath = flags.String("upstream", "", "the published OpenAPI document, a saved file: YAML or JSON, gzipped or not (required)")
		specPath     = flags.String("spec", "openapi/uploads.yaml", "the spec")
		catalogPath  = flags.String("divergences", "openapi/DIVERGENCES.md", "the list of known divergences")
		extractPath  = flags.String("extract", "", "also write the part of the published document that is compared to this file")
		docs         = flags.Bool("documentation", false, "compare descriptions, summaries and titles too")
		whole        = flags.String("whole", "/uploads", "comma-separated path prefixes under which every published operation must be in the spec")
	)
	if err := flags.Parse(args); err != nil {
		return err
	}
	if *upstreamPath == "" {
		return errors.New("give the published document with -upstream FILE (make upstream-diff UPSTREAM=FILE)")
	}
	if u, err := url.Parse(*upstreamPath); err == nil && u.Scheme != "" && u.Host != "" {
		return fmt.Errorf("%s is a URL: nothing is fetched here; save the document to a file first (curl -fsSLo openapi.yaml '%s') and give its path", *upstreamPath, *upstreamPath)
	}

	ours, err := parseFile(*specPath)
	if err != nil {
		return err
	}
	theirs, err := parseFile(*upstreamPath)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(*catalogPath)
	if err != nil {
		return fmt.Errorf("read the divergences: %w", err)
	}
	catalog, err := upstream.ParseCatalog(data)
	if err != nil {
		return fmt.Errorf("%s: %w", *catalogPath, err)
	}

	if *extractPath != "" {
		extract, err := upstream.Extract(ours, theirs, catalog.Names)
		if err != nil {
			return err
		}
		if err := os.WriteFile(*extractPath, extract, 0o644); err != nil {
			return fmt.Errorf("write the extract: %w", err)
		}
	}

	diffs, err := upstream.Compare(ours, theirs, upstream.Options{
		Names:         catalog.Names,
		Documentation: *docs,
		Whole:         strings.FieldsFunc(*whole, func(r rune) bool { return r == ',' }),
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Comparing %s with %s (%s).\n", *specPath, *upstreamPath, theirs.Versions())
	report := upstream.Check(diffs, catalog.Divergences)
	if err := report.Write(stdout, *catalogPath); err != nil {
		return fmt.Errorf("write the report: %w", err)
	}
	if len(report.Unlisted()) > 0 {
		return errUnlisted
	}
	if len(report.Unused) > 0 {
		return errStale
	}
	return nil
}

func parseFile(path string) (*upstream.Document, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	doc, err := upstream.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return doc, nil
}
