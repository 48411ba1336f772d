// Command specdiff compares openapi/uploads.yaml with its version at a git ref, prints every
// change oasdiff finds, and exits with status 1 when a change breaks existing clients and
// CHANGELOG.md does not list it under "### Breaking" in "## Unreleased".
//
// Usage, from the repository root:
//
//	go run ./internal/specdiff/cmd/specdiff [-base-ref REF] [-base FILE] [-spec FILE] [-changelog FILE]
//
// The base is, in order: the file given by -base, the spec at -base-ref, or the spec at the
// newest v* tag, or else at the first commit that added it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/uploadkit/uploads/internal/specdiff"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "spec-diff:", err)
		os.Exit(1)
	}
}

// errBreaking is returned when breaking changes are not listed; the report already says which.
var errBreaking = errors.New("breaking changes not listed in the changelog")

func run(ctx context.Context, args []string, stdout io.Writer) error {
	flags := flag.NewFlagSet("specdiff", flag.ContinueOnError)
	var (
		baseRef   = flags.String("base-ref", "", "git ref to compare with (default: newest v* tag, else the first commit that has the spec)")
		baseFile  = flags.String("base", "", "compare with this file instead of a git ref")
		spec      = flags.String("spec", "openapi/uploads.yaml", "the spec, relative to -repo")
		changelog = flags.String("changelog", "CHANGELOG.md", "the changelog that lists intended breaking changes, relative to -repo")
		repo      = flags.String("repo", ".", "the repository root")
	)
	if err := flags.Parse(args); err != nil {
		return err
	}

	revision, err := os.ReadFile(inRepo(*repo, *spec))
	if err != nil {
		return fmt.Errorf("read the spec: %w", err)
	}
	base, baseName, err := loadBase(ctx, *repo, *spec, *baseRef, *baseFile)
	if err != nil {
		return err
	}
	notes, err := os.ReadFile(inRepo(*repo, *changelog))
	if err != nil {
		return fmt.Errorf("read the changelog: %w", err)
	}
	patterns, err := specdiff.BreakingPatterns(notes)
	if err != nil {
		return fmt.Errorf("read the breaking changes listed in %s: %w", *changelog, err)
	}

	changes, err := specdiff.Changes(base, baseName, revision, *spec)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Comparing %s with %s.\n", *spec, baseName)
	report := specdiff.Check(changes, patterns)
	if err := report.Write(stdout, *changelog); err != nil {
		return fmt.Errorf("write the report: %w", err)
	}
	if len(report.Unlisted()) > 0 {
		return errBreaking
	}
	return nil
}

// inRepo resolves a path given relative to the repository root.
func inRepo(repo, path string) string {
	if filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(repo, path)
}

// loadBase returns the base document and a name for it.
func loadBase(ctx context.Context, repo, spec, ref, file string) ([]byte, string, error) {
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, "", fmt.Errorf("read the base spec: %w", err)
		}
		return data, file, nil
	}
	if ref == "" {
		var err error
		if ref, err = specdiff.BaseRef(ctx, repo, spec); err != nil {
			return nil, "", fmt.Errorf("choose the base ref: %w", err)
		}
	}
	data, err := specdiff.ShowFile(ctx, repo, ref, spec)
	if err != nil {
		return nil, "", err
	}
	return data, spec + "@" + ref, nil
}
