package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"

	"github.com/uploadkit/uploads/gen"
)

// filePurposes is how a 400 for the Files list filter lists the purposes a File can have: the
// spec's order, which differs from createUpload's.
const filePurposes = "['assistants', 'assistants_output', 'batch', 'batch_output', 'fine-tune', 'fine-tune-results', 'vision', 'user_data', 'evals']"

// exactError is an error answer to the byte of its message; "" for param or code is null.
type exactError struct {
	status                    int
	typ, param, code, message string
	detail                    bool // the top-level detail of the live 404 for a File
}

// checkExactError fails the test unless r is want, with the four keys of the envelope present
// and the message equal, not just alike.
func checkExactError(t *testing.T, r reply, want exactError) {
	t.Helper()
	if r.Status != want.status {
		t.Errorf("status %d, want %d; body %s", r.Status, want.status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	var body struct {
		Error  map[string]*string `json:"error"`
		Detail json.RawMessage    `json:"detail"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatalf("not an error envelope: %v: %s", err, r.Body)
	}
	for _, k := range []string{"message", "type", "param", "code"} {
		if _, ok := body.Error[k]; !ok {
			t.Errorf("error.%s is missing: %s", k, r.Body)
		}
	}
	str := func(k string) string {
		if p := body.Error[k]; p != nil {
			return *p
		}
		return ""
	}
	if got := str("type"); got != want.typ {
		t.Errorf("type %q, want %q", got, want.typ)
	}
	if got := str("param"); got != want.param {
		t.Errorf("param %q, want %q; body %s", got, want.param, r.Body)
	}
	if got := str("code"); got != want.code {
		t.Errorf("code %q, want %q; body %s", got, want.code, r.Body)
	}
	if got := str("message"); got != want.message {
		t.Errorf("message\n  %q\nwant\n  %q", got, want.message)
	}
	if got := body.Detail != nil; got != want.detail {
		t.Errorf("detail present: %v, want %v; body %s", got, want.detail, r.Body)
	}
}

// invalidRequestType is the type of every error answer here.
const invalidRequestType = "invalid_request_error"

// Every bad query parameter of GET /v1/files is a 400 invalid_request_error that names the
// parameter and says what is wrong and what is allowed, in the words the server uses for a body
// field with the same fault: a value out of range, not of the type, not in the enum, empty, or
// given twice.
func TestListFilesBadQueryParameters(t *testing.T) {
	e := newEnv(t)
	up := e.createUpload(keyA, 4)
	part := e.mustAddPart(keyA, up.ID, []byte("data"))
	file := decode[gen.Upload](t, e.complete(keyA, up.ID, []string{part}, "")).File

	below := func(got string) exactError {
		return exactError{400, invalidRequestType, "limit", "integer_below_min_value",
			"Invalid 'limit': integer below minimum value. Expected a value >= 1, but got " + got + " instead.", false}
	}
	above := func(got string) exactError {
		return exactError{400, invalidRequestType, "limit", "integer_above_max_value",
			"Invalid 'limit': integer above maximum value. Expected a value <= 10000, but got " + got + " instead.", false}
	}
	limitType := func(got string) exactError {
		return exactError{400, invalidRequestType, "limit", "invalid_type",
			"Invalid type for 'limit': expected an integer, but got " + got + " instead.", false}
	}
	order := func(got string) exactError {
		return exactError{400, invalidRequestType, "order", "", got + " is not one of ['asc', 'desc'] - 'order'", false}
	}
	purpose := func(got string) exactError {
		return exactError{400, invalidRequestType, "purpose", "", got + " is not one of " + filePurposes + " - 'purpose'", false}
	}
	twice := func(name string) exactError {
		return exactError{400, invalidRequestType, name, "invalid_value",
			"Invalid '" + name + "': expected one value, but got 2 values instead.", false}
	}
	cases := []struct {
		name, query string
		want        exactError
	}{
		{"limit zero", "limit=0", below("0")},
		{"limit negative", "limit=-1", below("-1")},
		{"limit past int64 below", "limit=-99999999999999999999", below("-99999999999999999999")},
		{"limit one past the maximum", "limit=10001", above("10001")},
		{"limit past int64", "limit=99999999999999999999", above("99999999999999999999")},
		{"limit a word", "limit=abc", limitType("'abc'")},
		{"limit a decimal", "limit=1.5", limitType("'1.5'")},
		{"limit with an exponent", "limit=1e3", limitType("'1e3'")},
		{"limit empty", "limit=", limitType("an empty string")},
		{"limit twice", "limit=1&limit=2", twice("limit")},
		{"order unknown", "order=up", order("'up'")},
		{"order in capitals", "order=ASC", order("'ASC'")},
		{"order empty", "order=", order("''")},
		{"order twice", "order=asc&order=desc", twice("order")},
		{"purpose unknown", "purpose=world_domination", purpose("'world_domination'")},
		{"purpose empty", "purpose=", purpose("''")},
		{"purpose twice", "purpose=batch&purpose=vision", twice("purpose")},
		{"after empty", "after=", exactError{400, invalidRequestType, "after", "empty_string",
			"Invalid 'after': empty string. Expected a string with minimum length 1, but got an empty string instead.", false}},
		{"after unknown", "after=file-unknown", exactError{400, invalidRequestType, "after", "",
			"Invalid 'after': no File with id 'file-unknown' to list after.", false}},
		{"after twice", "after=" + file.ID + "&after=" + file.ID, twice("after")},
		// The first bad parameter in the spec's order is the one named.
		{"two bad parameters", "order=up&limit=0", below("0")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkExactError(t, e.do("GET", "/files?"+c.query, keyA, "", nil), c.want)
		})
	}

	// The refusals stop at bad values: the ends of each range and each allowed value list.
	for _, q := range []string{"", "limit=1", "limit=10000", "order=asc", "order=desc", "purpose=fine-tune",
		"purpose=batch_output", "after=" + file.ID, "unknown=ignored"} {
		if r := e.do("GET", "/files?"+q, keyA, "", nil); r.Status != http.StatusOK {
			t.Errorf("GET /files?%s: %d %s", q, r.Status, r.Body)
		}
	}
}

// A path parameter cannot be malformed as far as the spec goes (an ID is any string of one
// character or more; an empty one matches no route): whatever a file_id or upload_id holds, it
// names no object, and the answer is the operation's 404, naming the parameter as for any ID
// that names nothing.
func TestMalformedPathParametersAreNotFound(t *testing.T) {
	e := newEnv(t)
	noFile := func(id string) exactError {
		return exactError{404, invalidRequestType, "id", "", "No such File object: " + id, true}
	}
	noUpload := func(id string) exactError {
		return exactError{404, invalidRequestType, "upload_id", "not_found", "No upload found with id '" + id + "'.", false}
	}
	cases := []struct {
		name, method, path string
		want               exactError
	}{
		{"file id a space", "GET", "/files/%20", noFile(" ")},
		{"file id NUL", "GET", "/files/%00", noFile("\x00")},
		{"file id with a slash", "DELETE", "/files/a%2Fb", noFile("a/b")},
		{"file id not UTF-8", "GET", "/files/%FF/content", noFile("\uFFFD")},
		{"upload id a space", "POST", "/uploads/%20/cancel", noUpload(" ")},
		{"upload id NUL", "POST", "/uploads/%00/cancel", noUpload("\x00")},
		{"file id empty", "GET", "/files//content", exactError{404, invalidRequestType, "", "", "Invalid URL (GET /v1/files//content)", false}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkExactError(t, e.do(c.method, c.path, keyA, "", nil), c.want)
		})
	}
}

// The official SDK takes a bad list parameter's 400 for what it is: an *openai.Error with the
// status, type, param, code and message of the envelope.
func TestOfficialSDKBadListParameter(t *testing.T) {
	e := newEnv(t)
	c := e.sdkClient(keyA, false) // the requests are bad on purpose
	_, err := c.Files.List(context.Background(), openai.FileListParams{Order: "up"})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("err = %v (%T), want an *openai.Error", err, err)
	}
	if apiErr.StatusCode != http.StatusBadRequest || apiErr.Type != invalidRequestType || apiErr.Param != "order" || apiErr.Code != "" ||
		apiErr.Message != "'up' is not one of ['asc', 'desc'] - 'order'" {
		t.Errorf("got %d type %q param %q code %q message %q", apiErr.StatusCode, apiErr.Type, apiErr.Param, apiErr.Code, apiErr.Message)
	}
}
