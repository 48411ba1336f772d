package specdiff

import (
	"fmt"
	"io"
	"strings"

	"github.com/oasdiff/oasdiff/checker"
)

// Breaking is one change at oasdiff's ERR level: it breaks existing clients.
type Breaking struct {
	// Change is oasdiff's description of it.
	Change checker.Change
	// Key names it (see Key).
	Key string
	// ListedBy is the changelog pattern that lists it, or nil when none does.
	ListedBy *Pattern
}

// Report is the outcome of comparing the spec with its version at the base ref.
type Report struct {
	// Changes holds every change, at every level.
	Changes checker.Changes
	// Breaking holds the changes that break clients, each with the changelog entry listing it.
	Breaking []Breaking
}

// Check sorts out which breaking changes the changelog lists.
func Check(changes checker.Changes, patterns []Pattern) Report {
	report := Report{Changes: changes}
	for _, c := range changes {
		if c.GetLevel() != checker.ERR {
			continue
		}
		b := Breaking{Change: c, Key: Key(c)}
		for i := range patterns {
			if patterns[i].Matches(b.Key) {
				b.ListedBy = &patterns[i]
				break
			}
		}
		report.Breaking = append(report.Breaking, b)
	}
	return report
}

// Unlisted returns the breaking changes that the changelog does not list.
func (r Report) Unlisted() []Breaking {
	var out []Breaking
	for _, b := range r.Breaking {
		if b.ListedBy == nil {
			out = append(out, b)
		}
	}
	return out
}

// Write prints every change, then the breaking ones with the changelog line that lists each,
// then what to do about those that are not listed.
func (r Report) Write(w io.Writer, changelogName string) error {
	pw := &printer{w: w}
	l := checker.NewDefaultLocalizer()
	if len(r.Changes) == 0 {
		pw.printf("No changes.\n")
		return pw.err
	}
	count := r.Changes.GetLevelCount()
	pw.printf("%d changes: %d error, %d warning, %d info\n", len(r.Changes), count[checker.ERR], count[checker.WARN], count[checker.INFO])
	for _, c := range r.Changes {
		pw.printf("%s\n", strings.TrimRight(c.SingleLineError(l, checker.ColorNever), " "))
	}
	if len(r.Breaking) == 0 {
		pw.printf("\nNo breaking changes.\n")
		return pw.err
	}
	pw.printf("\nBreaking changes (key, then the %s line that lists it):\n", changelogName)
	for _, b := range r.Breaking {
		if b.ListedBy != nil {
			pw.printf("  listed    %s    (%s:%d)\n", b.Key, changelogName, b.ListedBy.Line)
		} else {
			pw.printf("  UNLISTED  %s\n", b.Key)
		}
	}
	unlisted := r.Unlisted()
	if len(unlisted) == 0 {
		return pw.err
	}
	pw.printf("\n%d breaking change(s) not listed in %s. If a change is intended, say so under\n"+
		"\"### Breaking\" in \"## Unreleased\", with its key in backticks (`*` matches any text), e.g.:\n\n", len(unlisted), changelogName)
	for _, b := range unlisted {
		pw.printf("- <what changed and what users must do>. `%s`\n", b.Key)
	}
	return pw.err
}

// printer keeps the first write error so that a report is written without checking every call.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) printf(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}
