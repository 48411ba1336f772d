package upstream

import (
	"strings"
	"testing"
)

func TestParseCatalog(t *testing.T) {
	const names = "| Kind | Ours | Upstream |\n|---|---|---|\n| schema | FileObject | OpenAIFile |\n| operation | getThing | fetchThing |\n\n"
	const header = "| Key | Ours | Upstream | Reason |\n|---|---|---|---|\n"
	tests := []struct {
		name    string
		src     string
		want    int // divergences
		wantErr string
	}{
		{"both tables", "# D\n\n" + names + header + "| `schema.A.nullable` | `true` | `absent` | Live service sends null. |\n| `x.y` | `a \\| b` | `*` | Why. |\n", 2, ""},
		{"other tables are ignored", "| key | what |\n|---|---|\n| `a` | b |\n\n" + header + "| `a` | `1` | `2` | r |\n", 1, ""},
		{"no divergences table", names, 0, "no table"},
		{"row without reason", header + "| `a` | `1` | `2` | |\n", 0, "has no reason"},
		{"row without values", header + "| `a` | | `2` | r |\n", 0, "both values"},
		{"short row", header + "| `a` | `1` |\n", 0, "needs a key"},
		{"duplicate row", header + "| `a` | `1` | `2` | r |\n| `a` | `1` | `2` | s |\n", 0, "already listed on line 3"},
		{"a name twice", "| Kind | Ours | Upstream |\n|---|---|---|\n| schema | A | B |\n| schema | A | C |\n\n" + header, 0, "change that row"},
		{"a published name twice", "| Kind | Ours | Upstream |\n|---|---|---|\n| schema | A | B |\n| schema | C | B |\n\n" + header, 0, "already the published name of A"},
		{"unknown kind of name", "| Kind | Ours | Upstream |\n|---|---|---|\n| path | /a | /b |\n\n" + header, 0, "unknown kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			catalog, err := ParseCatalog([]byte(tt.src))
			if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("ParseCatalog: err = %v, want %q", err, tt.wantErr)
			}
			if err == nil && len(catalog.Divergences) != tt.want {
				t.Errorf("divergences = %v, want %d", catalog.Divergences, tt.want)
			}
		})
	}

	catalog, err := ParseCatalog([]byte(names + header + "| `x.y` | `a \\| b` | `*` | Why. |\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := catalog.Names.upstreamSchema("FileObject"); got != "OpenAIFile" {
		t.Errorf("upstream name of FileObject = %q", got)
	}
	if got := catalog.Names.oursSchema("OpenAIFile"); got != "FileObject" {
		t.Errorf("our name of OpenAIFile = %q", got)
	}
	if got := catalog.Names.upstreamOperation("getThing"); got != "fetchThing" {
		t.Errorf("upstream name of getThing = %q", got)
	}
	if got := catalog.Names.upstreamSchema("Upload"); got != "Upload" {
		t.Errorf("upstream name of an unlisted schema = %q, want it unchanged", got)
	}
	if d := catalog.Divergences[0]; d.Ours != "a | b" || d.Line != 8 {
		t.Errorf("divergence = %+v, want ours %q on line 8", d, "a | b")
	}
}

func TestDivergenceMatches(t *testing.T) {
	d, err := divergence([]string{"operation.*.responses.400", "present", "*", "r"}, 1)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		diff Difference
		want bool
	}{
		{Difference{"operation.createUpload.responses.400", Present, Absent}, true},
		{Difference{"operation.cancelUpload.responses.400", Present, "anything"}, true},
		{Difference{"operation.createUpload.responses.400", Absent, Present}, false},
		{Difference{"operation.createUpload.responses.4000", Present, Absent}, false},
		{Difference{"operation.createUpload.responses.400.content", Present, Absent}, false},
		{Difference{"schema.X.responses.400", Present, Absent}, false},
	}
	for _, tt := range tests {
		if got := d.Matches(tt.diff); got != tt.want {
			t.Errorf("%s matches %v = %v, want %v", d.Key, tt.diff, got, tt.want)
		}
	}
}

func TestReportUnused(t *testing.T) {
	used, _ := divergence([]string{"a", "1", "2", "r"}, 5)
	stale, _ := divergence([]string{"b", "1", "2", "r"}, 6)
	report := Check([]Difference{{"a", "1", "2"}}, []Divergence{used, stale})
	if len(report.Unlisted()) != 0 || len(report.Unused) != 1 || report.Unused[0].Key != "b" {
		t.Fatalf("report = %+v, want a listed and b unused", report)
	}
	var out strings.Builder
	if err := report.Write(&out, "D.md"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "D.md:6  b: ours 1, upstream 2") {
		t.Errorf("report does not name the unused row:\n%s", out.String())
	}
}
