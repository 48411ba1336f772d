package uploads_test

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"strings"
	"testing"

	"github.com/uploadkit/uploads"
)

// TestOnePurposeType: an Upload's purpose, its File's and a create request's are one type, so they
// compare with each other and with the same constants.
func TestOnePurposeType(t *testing.T) {
	var up uploads.Upload
	body := `{"id":"upload_1","object":"upload","bytes":2,"created_at":1,"filename":"a.jsonl","purpose":"fine-tune",
		"status":"completed","expires_at":3601,"file":{"id":"file-1","object":"file","bytes":2,"created_at":2,
		"filename":"a.jsonl","purpose":"fine-tune","status":"processed","expires_at":null,"status_details":null}}`
	if err := json.Unmarshal([]byte(body), &up); err != nil {
		t.Fatal(err)
	}
	params := uploads.CreateParams{Purpose: uploads.PurposeFineTune}
	if up.Purpose != uploads.PurposeFineTune || up.File.Purpose != up.Purpose || params.Purpose != up.File.Purpose {
		t.Errorf("purposes: upload %q, file %q, params %q", up.Purpose, up.File.Purpose, params.Purpose)
	}
	if uploads.FilePurposeFineTune != uploads.PurposeFineTune {
		t.Error("FilePurposeFineTune and PurposeFineTune differ")
	}
}

// TestModelDocsListEveryField: the comment of each model alias in models.go lists every field of
// the generated struct behind it, one per line, name first, and nothing that is not a field.
func TestModelDocsListEveryField(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "models.go", nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string]string{}
	for _, decl := range f.Decls {
		g, ok := decl.(*ast.GenDecl)
		if !ok || g.Tok != token.TYPE {
			continue
		}
		for _, spec := range g.Specs {
			ts := spec.(*ast.TypeSpec)
			if ts.Doc != nil {
				docs[ts.Name.Name] = ts.Doc.Text()
			}
		}
	}
	for name, typ := range map[string]reflect.Type{
		"Upload":      reflect.TypeFor[uploads.Upload](),
		"UploadPart":  reflect.TypeFor[uploads.UploadPart](),
		"FileObject":  reflect.TypeFor[uploads.FileObject](),
		"FileList":    reflect.TypeFor[uploads.FileList](),
		"FileDeleted": reflect.TypeFor[uploads.FileDeleted](),
	} {
		listed := map[string]bool{}
		for line := range strings.SplitSeq(docs[name], "\n") {
			if strings.HasPrefix(line, "\t") {
				listed[strings.Fields(line)[0]] = true
			}
		}
		for i := range typ.NumField() {
			field := typ.Field(i).Name
			if !listed[field] {
				t.Errorf("the comment of %s does not list its field %s", name, field)
			}
			delete(listed, field)
		}
		for field := range listed {
			t.Errorf("the comment of %s lists %s, which is not a field", name, field)
		}
	}
}
