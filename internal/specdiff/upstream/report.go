package upstream

import (
	"fmt"
	"io"
	"strings"
)

// Finding is a difference and the divergence that explains it, if one does.
type Finding struct {
	Difference
	// ListedBy is the divergence that explains the difference, or nil.
	ListedBy *Divergence
}

// Report sorts the differences into explained and unexplained.
type Report struct {
	Findings []Finding
	// Unused holds the divergences that explain no difference: the published document has
	// caught up, or the spec changed, and the row can go.
	Unused []Divergence
}

// Check matches each difference with the first divergence that explains it.
func Check(diffs []Difference, divergences []Divergence) Report {
	var r Report
	used := make([]bool, len(divergences))
	for _, diff := range diffs {
		f := Finding{Difference: diff}
		for i := range divergences {
			if divergences[i].Matches(diff) {
				f.ListedBy = &divergences[i]
				used[i] = true
				break
			}
		}
		r.Findings = append(r.Findings, f)
	}
	for i, d := range divergences {
		if !used[i] {
			r.Unused = append(r.Unused, d)
		}
	}
	return r
}

// Unlisted returns the differences no divergence explains.
func (r Report) Unlisted() []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if f.ListedBy == nil {
			out = append(out, f)
		}
	}
	return out
}

// Write prints every difference, marked listed (with the line of the catalog that explains it)
// or NOT LISTED, then the rows that explain nothing, then the rows to add for the differences
// that are not listed: a renamed schema or operation to the table of names, anything else to
// the table of divergences.
func (r Report) Write(w io.Writer, catalogName string) error {
	p := &printer{w: w}
	unlisted := r.Unlisted()
	p.printf("%d differences: %d listed in %s, %d not listed.\n", len(r.Findings), len(r.Findings)-len(unlisted), catalogName, len(unlisted))
	for _, f := range r.Findings {
		if f.ListedBy != nil {
			p.printf("  listed      %s  (%s:%d)\n", f.Difference, catalogName, f.ListedBy.Line)
		} else {
			p.printf("  NOT LISTED  %s\n", f.Difference)
		}
	}
	if len(r.Unused) > 0 {
		p.printf("\nListed in %s but matching no difference (the published document caught up, or the spec changed): remove each row.\n", catalogName)
		for _, d := range r.Unused {
			p.printf("  %s:%d  %s: ours %s, upstream %s\n", catalogName, d.Line, d.Key, d.Ours, d.Upstream)
		}
	}
	var names, rows []string
	for _, f := range unlisted {
		if kind, ours, ok := renamed(f.Difference); ok {
			names = append(names, fmt.Sprintf("| %s | %s | %s |", kind, ours, f.Upstream))
		} else {
			rows = append(rows, fmt.Sprintf("| `%s` | `%s` | `%s` | <why the spec differs> |", f.Key, f.Ours, f.Upstream))
		}
	}
	if len(names) > 0 {
		p.printf("\nThe published document names these differently. If it is the same thing, put the row in the table of names in %s (changing the row the name has, if it has one):\n\n", catalogName)
		for _, row := range names {
			p.printf("%s\n", row)
		}
	}
	if len(rows) > 0 {
		p.printf("\nEach difference must be fixed in the spec or, if deliberate, listed with its reason. Rows to add to the table of divergences in %s:\n\n", catalogName)
		for _, row := range rows {
			p.printf("%s\n", row)
		}
	}
	return p.err
}

// renamed reports whether a difference is a name: of a component schema ("schema.<Name>.name")
// or of an operation ("operation.<id>.operationId"), with the kind and the spec's name.
func renamed(d Difference) (kind, ours string, ok bool) {
	if name, found := strings.CutPrefix(d.Key, "schema."); found {
		if name, found = strings.CutSuffix(name, ".name"); found && !strings.Contains(name, ".") {
			return "schema", name, true
		}
	}
	if id, found := strings.CutPrefix(d.Key, "operation."); found {
		if id, found = strings.CutSuffix(id, ".operationId"); found && !strings.Contains(id, ".") {
			return "operation", id, true
		}
	}
	return "", "", false
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
