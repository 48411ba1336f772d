package limits_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/uploadkit/uploads/internal/limits"
	"github.com/uploadkit/uploads/openapi"
)

// TestLimitsMatchTheSpec checks every constant of the package against openapi/uploads.yaml, where
// the spec states it as a number (a schema's minimum, maximum or enum) or, for what JSON Schema
// cannot say of a multipart field or a computed time, in the text users read.
func TestLimitsMatchTheSpec(t *testing.T) {
	doc, err := openapi.Load(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	schema := func(name string) *openapi3.Schema {
		t.Helper()
		ref, ok := doc.Components.Schemas[name]
		if !ok || ref.Value == nil {
			t.Fatalf("the spec has no schema %s", name)
		}
		return ref.Value
	}
	field := func(schemaName, prop string) *openapi3.Schema {
		t.Helper()
		p, ok := schema(schemaName).Properties[prop]
		if !ok || p.Value == nil {
			t.Fatalf("the spec's %s has no property %s", schemaName, prop)
		}
		return p.Value
	}
	number := func(name string, p *float64, want int64) {
		t.Helper()
		if p == nil || int64(*p) != want {
			t.Errorf("%s: the spec says %v, the code %d", name, deref(p), want)
		}
	}

	bytes := field("CreateUploadRequest", "bytes")
	number("CreateUploadRequest.bytes maximum", bytes.Max, limits.MaxUploadBytes)
	seconds := field("FileExpirationAfter", "seconds")
	number("FileExpirationAfter.seconds minimum", seconds.Min, limits.MinFileExpiresAfterSeconds)
	number("FileExpirationAfter.seconds maximum", seconds.Max, limits.MaxFileExpiresAfterSeconds)

	var limit *openapi3.Schema
	for _, p := range doc.Paths.Find("/files").Get.Parameters {
		if p.Value.Name == "limit" {
			limit = p.Value.Schema.Value
		}
	}
	if limit == nil {
		t.Fatal("listFiles has no limit parameter")
	}
	number("listFiles limit maximum", limit.Max, limits.MaxListFilesLimit)
	if d, ok := limit.Default.(float64); !ok || int64(d) != limits.MaxListFilesLimit {
		t.Errorf("listFiles limit default: the spec says %v, the code %d", limit.Default, limits.MaxListFilesLimit)
	}

	var enum []string
	for _, v := range field("CreateUploadRequest", "purpose").Enum {
		enum = append(enum, fmt.Sprint(v))
	}
	purposes := limits.Purposes()
	if !sameSet(enum, purposes) {
		t.Errorf("CreateUploadRequest.purpose: the spec's enum is %v, the code's purposes %v", enum, purposes)
	}

	// A multipart field's size and a computed expiry have no schema keyword: the spec states them
	// in its description, in these words.
	for _, text := range []string{
		fmt.Sprintf("a part is at most %d MiB (%s bytes)", limits.MaxPartBytes>>20, grouped(limits.MaxPartBytes)),
		fmt.Sprintf("an upload at most %d GiB (%s bytes)", limits.MaxUploadBytes>>30, grouped(limits.MaxUploadBytes)),
		fmt.Sprintf("`expires_at = created_at + %d`", limits.UploadLifetimeSeconds),
		fmt.Sprintf("A part may be at most %d bytes.", limits.MaxPartBytes),
		fmt.Sprintf("`purpose=batch` expire after %d days", limits.BatchFileExpiresAfterSeconds/86400),
	} {
		if !strings.Contains(words(string(openapi.YAML)), words(text)) {
			t.Errorf("the spec does not say %q", text)
		}
	}
}

// TestPurposesAreFresh: a caller changing the returned slice cannot change what others get.
func TestPurposesAreFresh(t *testing.T) {
	a := limits.Purposes()
	a[0] = "changed"
	if b := limits.Purposes(); b[0] == "changed" {
		t.Fatal("Purposes returned a shared slice")
	}
}

// words is s with every run of white space made one space, so that prose compares across line breaks.
func words(s string) string { return strings.Join(strings.Fields(s), " ") }

func deref(p *float64) any {
	if p == nil {
		return "nothing"
	}
	return *p
}

func sameSet(a, b []string) bool {
	a, b = slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b))
	return slices.Equal(a, b)
}

// grouped writes n with a comma every three digits, as the spec's prose does.
func grouped(n int64) string {
	s := fmt.Sprint(n)
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}
