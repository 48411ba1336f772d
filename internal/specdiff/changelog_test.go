package specdiff

import (
	"errors"
	"os"
	"testing"
)

func TestBreakingPatterns(t *testing.T) {
	tests := []struct {
		name      string
		changelog string
		want      []string
		wantErr   error
	}{
		{
			name:      "keys under Breaking in Unreleased",
			changelog: "# Changelog\n\n## Unreleased\n\n### Breaking\n\n- `Upload.x` is gone. `response-optional-property-removed POST /uploads x 200`\n  `request-property-removed POST /uploads y`\n",
			want:      []string{"response-optional-property-removed POST /uploads x 200", "request-property-removed POST /uploads y"},
		},
		{
			name:      "bracketed Unreleased heading",
			changelog: "## [Unreleased]\n### Breaking\n- `api-removed-without-deprecation GET /files/{file_id}`\n",
			want:      []string{"api-removed-without-deprecation GET /files/{file_id}"},
		},
		{
			name:      "prose code spans are not keys",
			changelog: "## Unreleased\n### Breaking\n- `fine-tune` and `Upload.file` and `not-a-rule x`\n",
		},
		{
			name:      "other subsections and released versions are ignored",
			changelog: "## Unreleased\n### Added\n- `response-optional-property-removed A`\n### Breaking\n- `response-optional-property-removed B`\n### Fixed\n- `response-optional-property-removed C`\n## v1.0.0\n### Breaking\n- `response-optional-property-removed D`\n",
			want:      []string{"response-optional-property-removed B"},
		},
		{
			name:      "fenced examples are ignored",
			changelog: "```markdown\n## Unreleased\n### Breaking\n- `response-optional-property-removed A`\n```\n## Unreleased\n### Breaking\nNone.\n",
		},
		{
			name:      "no Unreleased section is an error",
			changelog: "# Changelog\n## v1.0.0\n### Breaking\n- `response-optional-property-removed A`\n",
			wantErr:   errNoUnreleased,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			patterns, err := BreakingPatterns([]byte(tt.changelog))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			var got []string
			for _, p := range patterns {
				got = append(got, p.Text)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("patterns = %q, want %q", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("pattern %d = %q, want %q", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestPatternMatches(t *testing.T) {
	const key = "response-required-property-removed POST /uploads/{upload_id}/cancel filename 200"
	tests := []struct {
		pattern string
		want    bool
	}{
		{key, true},
		{"response-required-property-removed POST * filename 200", true},
		{"response-required-property-removed  POST /uploads/{upload_id}/cancel   filename 200", true},
		{"response-required-property-removed POST /uploads/*/cancel filename *", true},
		{"response-required-property-removed POST /uploads filename 200", false},
		{"response-required-property-removed POST * file 200", false},
		{"response-required-property-removed POST * filename", false},
		{"response-optional-property-removed POST * filename 200", false},
	}
	for _, tt := range tests {
		p := Pattern{Text: tt.pattern, re: globRegexp(tt.pattern)}
		if got := p.Matches(key); got != tt.want {
			t.Errorf("%q matches %q = %v, want %v", tt.pattern, key, got, tt.want)
		}
	}
}

// TestRepositoryChangelog keeps CHANGELOG.md readable by the guard.
func TestRepositoryChangelog(t *testing.T) {
	data, err := os.ReadFile("../../CHANGELOG.md")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := BreakingPatterns(data); err != nil {
		t.Fatalf("CHANGELOG.md: %v", err)
	}
}
