package specdiff

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Pattern is one change key that CHANGELOG.md lists under "### Breaking" in "## Unreleased". It
// is a code span whose first word is an oasdiff rule id; `*` in it matches any text.
type Pattern struct {
	// Text is the pattern as written, without its backticks.
	Text string
	// Line is the line of CHANGELOG.md it is on, counting from 1.
	Line int

	re *regexp.Regexp
}

// Matches reports whether the pattern names the change with this key (see Key).
func (p Pattern) Matches(key string) bool {
	return p.re.MatchString(key)
}

// errNoUnreleased is returned when the changelog has no "## Unreleased" section.
var errNoUnreleased = errors.New(`no "## Unreleased" section`)

var codeSpan = regexp.MustCompile("`([^`]+)`")

// BreakingPatterns returns the change keys listed under "### Breaking" in the "## Unreleased"
// section of a changelog. Code spans that do not start with an oasdiff rule id are prose and are
// left out, and so is anything inside fenced code blocks.
func BreakingPatterns(markdown []byte) ([]Pattern, error) {
	ids := ruleIDs()
	var (
		patterns     []Pattern
		inUnreleased bool
		seen         bool
		inBreaking   bool
		inFence      bool
	)
	scanner := bufio.NewScanner(bytes.NewReader(markdown))
	for line := 1; scanner.Scan(); line++ {
		text := scanner.Text()
		trimmed := strings.TrimSpace(text)
		if strings.HasPrefix(trimmed, "```") {
			inFence = !inFence
			continue
		}
		if inFence {
			continue
		}
		if title, ok := heading(text, 2); ok {
			inUnreleased = strings.EqualFold(strings.Trim(title, "[]"), "Unreleased")
			seen = seen || inUnreleased
			inBreaking = false
			continue
		}
		if title, ok := heading(text, 3); ok {
			inBreaking = inUnreleased && strings.EqualFold(title, "Breaking")
			continue
		}
		if !inBreaking {
			continue
		}
		for _, m := range codeSpan.FindAllStringSubmatch(text, -1) {
			span := strings.TrimSpace(m[1])
			first, _, _ := strings.Cut(span, " ")
			if !ids[first] {
				continue
			}
			patterns = append(patterns, Pattern{Text: span, Line: line, re: globRegexp(span)})
		}
	}
	if err := scanner.Err(); err != nil {
		return nil, fmt.Errorf("read changelog: %w", err)
	}
	if !seen {
		return nil, errNoUnreleased
	}
	return patterns, nil
}

// heading returns the title of a Markdown heading of exactly this level.
func heading(line string, level int) (string, bool) {
	prefix := strings.Repeat("#", level) + " "
	if !strings.HasPrefix(line, prefix) {
		return "", false
	}
	return strings.TrimSpace(strings.TrimPrefix(line, prefix)), true
}

// globRegexp turns a pattern in which `*` matches any text into an anchored regular expression;
// runs of spaces match runs of spaces.
func globRegexp(glob string) *regexp.Regexp {
	fields := strings.Fields(glob)
	for i, field := range fields {
		parts := strings.Split(field, "*")
		for j, part := range parts {
			parts[j] = regexp.QuoteMeta(part)
		}
		fields[i] = strings.Join(parts, ".*")
	}
	return regexp.MustCompile(`^` + strings.Join(fields, `\s+`) + `$`)
}
