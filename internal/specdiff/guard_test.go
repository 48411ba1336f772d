package specdiff

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/uploadkit/uploads/openapi"
)

// changedSpec returns the spec, as JSON, after change has edited it.
func changedSpec(t *testing.T, change func(t *testing.T, doc *openapi3.T)) []byte {
	t.Helper()
	doc, err := openapi.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	change(t, doc)
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// removeProperty returns a change that removes a property of a component schema.
func removeProperty(schema, property string) func(t *testing.T, doc *openapi3.T) {
	return func(t *testing.T, doc *openapi3.T) {
		t.Helper()
		s := doc.Components.Schemas[schema].Value
		if s.Properties[property] == nil {
			t.Fatalf("the spec has no %s.%s to remove", schema, property)
		}
		delete(s.Properties, property)
		s.Required = slices.DeleteFunc(s.Required, func(name string) bool { return name == property })
	}
}

func withoutUploadFilename(t *testing.T) []byte {
	t.Helper()
	return changedSpec(t, removeProperty("Upload", "filename"))
}

// TestBreakingForGoUsers checks the changes that break code compiled against the generated
// types, beside those that break the wire, and that a new response enum value does not.
func TestBreakingForGoUsers(t *testing.T) {
	removeEnumValue := func(schema, property, value string) func(t *testing.T, doc *openapi3.T) {
		return func(t *testing.T, doc *openapi3.T) {
			t.Helper()
			p := doc.Components.Schemas[schema].Value.Properties[property].Value
			n := len(p.Enum)
			p.Enum = slices.DeleteFunc(p.Enum, func(v any) bool { return v == value })
			if len(p.Enum) == n {
				t.Fatalf("%s.%s has no enum value %q", schema, property, value)
			}
		}
	}
	tests := []struct {
		name   string
		change func(t *testing.T, doc *openapi3.T)
		key    string // a breaking change it must cause; empty when none
	}{
		{"optional response field removed", removeProperty("Upload", "file"), "response-optional-property-removed POST /uploads/{upload_id}/complete file 200"},
		{"optional request field removed", removeProperty("CompleteUploadRequest", "md5"), "request-property-removed POST /uploads/{upload_id}/complete md5"},
		{"response enum value removed", removeEnumValue("Upload", "status", "expired"), "response-property-enum-value-removed POST /uploads expired status 200"},
		{"request enum value removed", removeEnumValue("CreateUploadRequest", "purpose", "evals"), "request-property-enum-value-removed POST /uploads evals purpose"},
		{"response enum value added", func(t *testing.T, doc *openapi3.T) {
			p := doc.Components.Schemas["Upload"].Value.Properties["status"].Value
			p.Enum = append(p.Enum, "archived")
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			changes, err := Changes(openapi.YAML, "base", changedSpec(t, tt.change), "revision")
			if err != nil {
				t.Fatal(err)
			}
			if len(changes) == 0 {
				t.Fatal("no change found")
			}
			keys := breakingKeys(Check(changes, nil).Breaking)
			if tt.key == "" && len(keys) > 0 {
				t.Errorf("breaking changes = %q, want none", keys)
			}
			if tt.key != "" && !slices.Contains(keys, tt.key) {
				t.Errorf("breaking changes = %q, want one to be %q", keys, tt.key)
			}
		})
	}
}

func TestSeverityOverridesNameRules(t *testing.T) {
	ids := ruleIDs()
	for id := range SeverityOverrides {
		if !ids[id] {
			t.Errorf("SeverityOverrides names %q, which is not an oasdiff rule", id)
		}
	}
}

const changelogHead = "# Changelog\n\n## Unreleased\n\n### Breaking\n\n"

func TestCheck(t *testing.T) {
	removed := withoutUploadFilename(t)
	keys := []string{
		"response-required-property-removed POST /uploads filename 200",
		"response-required-property-removed POST /uploads/{upload_id}/cancel filename 200",
		"response-required-property-removed POST /uploads/{upload_id}/complete filename 200",
	}
	tests := []struct {
		name      string
		revision  []byte
		changelog string
		breaking  []string // keys of the breaking changes, sorted
		unlisted  []string // keys of those the changelog does not list, sorted
	}{
		{
			name:      "no change passes",
			revision:  openapi.YAML,
			changelog: changelogHead + "None.\n",
		},
		{
			name:      "removed field without an entry fails",
			revision:  removed,
			changelog: changelogHead + "None.\n",
			breaking:  keys,
			unlisted:  keys,
		},
		{
			name:      "removed field listed for every operation passes",
			revision:  removed,
			changelog: changelogHead + "- `Upload.filename` is gone. `" + keys[0] + "`, `" + keys[1] + "`\n  and `" + keys[2] + "`\n",
			breaking:  keys,
		},
		{
			name:      "one glob entry covers every operation",
			revision:  removed,
			changelog: changelogHead + "- `Upload.filename` is gone. `response-required-property-removed POST * filename 200`\n",
			breaking:  keys,
		},
		{
			name:      "entry for one operation leaves the others unlisted",
			revision:  removed,
			changelog: changelogHead + "- Gone from create. `" + keys[0] + "`\n",
			breaking:  keys,
			unlisted:  keys[1:],
		},
		{
			name:      "entry for another field does not count",
			revision:  removed,
			changelog: changelogHead + "- `response-required-property-removed POST * bytes 200`\n",
			breaking:  keys,
			unlisted:  keys,
		},
		{
			name:      "entry in a released section does not count",
			revision:  removed,
			changelog: "# Changelog\n\n## Unreleased\n\n## v1.0.0\n\n### Breaking\n\n- `response-required-property-removed * filename 200`\n",
			breaking:  keys,
			unlisted:  keys,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			patterns, err := BreakingPatterns([]byte(tt.changelog))
			if err != nil {
				t.Fatal(err)
			}
			changes, err := Changes(openapi.YAML, "base", tt.revision, "revision")
			if err != nil {
				t.Fatal(err)
			}
			report := Check(changes, patterns)
			if got := breakingKeys(report.Breaking); !slices.Equal(got, tt.breaking) {
				t.Errorf("breaking changes:\n got %q\nwant %q", got, tt.breaking)
			}
			if got := breakingKeys(report.Unlisted()); !slices.Equal(got, tt.unlisted) {
				t.Errorf("unlisted breaking changes:\n got %q\nwant %q", got, tt.unlisted)
			}

			var out bytes.Buffer
			if err := report.Write(&out, "CHANGELOG.md"); err != nil {
				t.Fatal(err)
			}
			for _, key := range tt.unlisted {
				if !strings.Contains(out.String(), "UNLISTED  "+key+"\n") || !strings.Contains(out.String(), "`"+key+"`") {
					t.Errorf("report does not name %q as unlisted with an entry to copy:\n%s", key, out.String())
				}
			}
			if len(tt.breaking) == 0 && !strings.Contains(out.String(), "No ") {
				t.Errorf("report of an unbroken spec does not say so:\n%s", out.String())
			}
		})
	}
}

func breakingKeys(list []Breaking) []string {
	var keys []string
	for _, b := range list {
		keys = append(keys, b.Key)
	}
	slices.Sort(keys)
	return keys
}

func TestChangesRejectsInvalidSpec(t *testing.T) {
	if _, err := Changes(openapi.YAML, "base", []byte("openapi: [not a spec"), "broken.yaml"); err == nil || !strings.Contains(err.Error(), "broken.yaml") {
		t.Errorf("Changes with a broken revision: err = %v, want an error naming broken.yaml", err)
	}
}
