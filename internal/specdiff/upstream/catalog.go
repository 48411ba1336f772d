package upstream

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Names says what the published document calls the operations and schemas it names
// differently from the spec. A name it does not list is the same in both.
type Names struct {
	schemas    map[string]string // the spec's name → the published name
	operations map[string]string
}

func (n Names) upstreamSchema(ours string) string {
	if name, ok := n.schemas[ours]; ok {
		return name
	}
	return ours
}

// oursSchema returns the spec's name for a schema of the published document.
func (n Names) oursSchema(upstream string) string {
	for ours, theirs := range n.schemas {
		if theirs == upstream {
			return ours
		}
	}
	return upstream
}

func (n Names) upstreamOperation(ours string) string {
	if name, ok := n.operations[ours]; ok {
		return name
	}
	return ours
}

// Divergence is one known, deliberate difference from the published document, as
// DIVERGENCES.md lists it.
type Divergence struct {
	// Key is the key of the difference; `*` in it matches any text.
	Key string
	// Ours and Upstream are the values the difference has; `*` matches any value.
	Ours, Upstream string
	// Reason says why the spec differs.
	Reason string
	// Line is the line of DIVERGENCES.md the row is on, counting from 1.
	Line int

	key *regexp.Regexp
}

// Matches reports whether the divergence explains the difference.
func (d Divergence) Matches(diff Difference) bool {
	return d.key.MatchString(diff.Key) &&
		(d.Ours == "*" || d.Ours == diff.Ours) &&
		(d.Upstream == "*" || d.Upstream == diff.Upstream)
}

// Catalog is what DIVERGENCES.md says: the names that differ and the known divergences.
type Catalog struct {
	Names       Names
	Divergences []Divergence
}

// The header rows that identify the two tables of DIVERGENCES.md.
var (
	namesHeader       = []string{"kind", "ours", "upstream"}
	divergencesHeader = []string{"key", "ours", "upstream", "reason"}
)

// ParseCatalog reads DIVERGENCES.md. It has two Markdown tables, told apart by their header
// rows: names (`| Kind | Ours | Upstream |`, kind `schema` or `operation`) and divergences
// (`| Key | Ours | Upstream | Reason |`). Backticks around cells are dropped; `\|` is a literal
// pipe.
func ParseCatalog(markdown []byte) (Catalog, error) {
	catalog := Catalog{Names: Names{schemas: map[string]string{}, operations: map[string]string{}}}
	var (
		table    string // "names", "divergences", "other" or "" outside a table
		sawTable bool
		keys     = map[string]int{}
		errs     []error
	)
	scanner := bufio.NewScanner(bytes.NewReader(markdown))
	for line := 1; scanner.Scan(); line++ {
		text := strings.TrimSpace(scanner.Text())
		if !strings.HasPrefix(text, "|") {
			table = ""
			continue
		}
		cells := splitRow(text)
		if table == "" {
			switch {
			case hasHeader(cells, divergencesHeader):
				table, sawTable = "divergences", true
			case hasHeader(cells, namesHeader):
				table = "names"
			default:
				table = "other"
			}
			continue
		}
		if table == "other" || isSeparator(cells) {
			continue
		}
		if table == "names" {
			if err := catalog.Names.add(cells); err != nil {
				errs = append(errs, fmt.Errorf("line %d: %w", line, err))
			}
			continue
		}
		d, err := divergence(cells, line)
		if err != nil {
			errs = append(errs, fmt.Errorf("line %d: %w", line, err))
			continue
		}
		id := d.Key + "\x00" + d.Ours + "\x00" + d.Upstream
		if first, dup := keys[id]; dup {
			errs = append(errs, fmt.Errorf("line %d: %s is already listed on line %d", line, d.Key, first))
			continue
		}
		keys[id] = line
		catalog.Divergences = append(catalog.Divergences, d)
	}
	if err := scanner.Err(); err != nil {
		return Catalog{}, fmt.Errorf("read divergences: %w", err)
	}
	if !sawTable {
		errs = append(errs, errors.New("no table with the header | Key | Ours | Upstream | Reason |"))
	}
	if err := errors.Join(errs...); err != nil {
		return Catalog{}, fmt.Errorf("read divergences: %w", err)
	}
	return catalog, nil
}

func (n Names) add(cells []string) error {
	if len(cells) < 3 || cells[1] == "" || cells[2] == "" {
		return errors.New("a name row needs a kind, the spec's name and the published name")
	}
	var names map[string]string
	switch kind := strings.ToLower(cells[0]); kind {
	case "schema":
		names = n.schemas
	case "operation":
		names = n.operations
	default:
		return fmt.Errorf("unknown kind %q: want schema or operation", cells[0])
	}
	// One name each way: a second row for the same name would leave one of the two unread.
	if published, dup := names[cells[1]]; dup {
		return fmt.Errorf("%s %s already has a published name, %s: change that row", cells[0], cells[1], published)
	}
	for ours, published := range names {
		if published == cells[2] {
			return fmt.Errorf("%s is already the published name of %s", cells[2], ours)
		}
	}
	names[cells[1]] = cells[2]
	return nil
}

func divergence(cells []string, line int) (Divergence, error) {
	if len(cells) < 4 {
		return Divergence{}, errors.New("a divergence row needs a key, two values and a reason")
	}
	d := Divergence{Key: cells[0], Ours: cells[1], Upstream: cells[2], Reason: cells[3], Line: line}
	if d.Key == "" || d.Ours == "" || d.Upstream == "" {
		return Divergence{}, errors.New("a divergence row needs a key and both values (`*` for any)")
	}
	if d.Reason == "" {
		return Divergence{}, fmt.Errorf("%s has no reason", d.Key)
	}
	parts := strings.Split(d.Key, "*")
	for i, part := range parts {
		parts[i] = regexp.QuoteMeta(part)
	}
	d.key = regexp.MustCompile("^" + strings.Join(parts, ".*") + "$")
	return d, nil
}

// splitRow returns the cells of a Markdown table row, trimmed, without surrounding backticks.
func splitRow(row string) []string {
	row = strings.ReplaceAll(row, `\|`, "\x00")
	row = strings.TrimSuffix(strings.TrimPrefix(row, "|"), "|")
	cells := strings.Split(row, "|")
	for i, cell := range cells {
		cell = strings.ReplaceAll(strings.TrimSpace(cell), "\x00", "|")
		if len(cell) >= 2 && strings.HasPrefix(cell, "`") && strings.HasSuffix(cell, "`") {
			cell = cell[1 : len(cell)-1]
		}
		cells[i] = cell
	}
	return cells
}

func hasHeader(cells, want []string) bool {
	if len(cells) < len(want) {
		return false
	}
	for i, w := range want {
		if strings.ToLower(cells[i]) != w {
			return false
		}
	}
	return len(cells) == len(want)
}

func isSeparator(cells []string) bool {
	for _, cell := range cells {
		if strings.Trim(cell, "-: ") != "" {
			return false
		}
	}
	return true
}
