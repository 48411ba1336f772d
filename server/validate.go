package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/uploadkit/uploads/internal/limits"
	"github.com/uploadkit/uploads/internal/speccheck"
)

// basePath is where the API lives, as in https://api.openai.com/v1.
const basePath = "/v1"

// opAddUploadPart is the one operation whose body is streamed, so never validated as a whole.
const opAddUploadPart = "addUploadPart"

// multipartSlack is how much a multipart request for a part may hold beyond the part itself:
// boundaries and part headers, a few hundred bytes in practice.
const multipartSlack = 64 << 10

// partReadBuffer is how much of a part's request is read from the connection at a time. The
// multipart reader reads 4 KiB at a time, and the connection would serve each of those reads with
// a system call of its own.
const partReadBuffer = 64 << 10

// bufferedBody reads a request body through a larger buffer and closes the original body.
type bufferedBody struct {
	*bufio.Reader
	io.Closer
}

// newRouter finds the spec's operation for a request, on any host, under basePath.
func newRouter(ctx context.Context) (routers.Router, error) {
	return speccheck.NewRouter(ctx, basePath)
}

// validate checks each request against its operation in the spec before it reaches a handler, and
// answers a request that breaks it with a 400 naming the offending field. It bounds every body:
// JSON bodies to the configured limit, and a part's request to the part limit (refusing at once
// one whose Content-Length already says it is too large). The body of addUploadPart is left to the
// handler, which streams it: validating it here would read it whole into memory.
func (s *Server) validate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route, params, err := s.router.FindRoute(r)
		if err != nil {
			writeError(w, invalidURL(r))
			return
		}
		if sw := findStatusWriter(w); sw != nil {
			sw.operation = route.Operation.OperationID
		}
		streamed := speccheck.StreamsRequestBody(route)
		if streamed {
			limit := s.maxPart + multipartSlack
			if r.ContentLength > limit {
				writeError(w, partTooLarge(s.maxPart))
				return
			}
			// The generated handler takes any multipart/* body; the spec allows only a form.
			if media, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); media != "multipart/form-data" {
				writeError(w, badRequest("data", "",
					"The request body must be a multipart/form-data form with one 'data' field holding the part's bytes."))
				return
			}
			r.Body = bufferedBody{bufio.NewReaderSize(http.MaxBytesReader(w, r.Body, limit), partReadBuffer), r.Body}
		} else {
			r.Body = http.MaxBytesReader(w, r.Body, s.maxJSON)
			if ae := checkJSONBody(r, route.Operation); ae != nil {
				writeError(w, ae)
				return
			}
		}
		if ae := repeatedParameter(r, route.Operation); ae != nil {
			writeError(w, ae)
			return
		}
		// The key was checked by authenticate already; a part's body is left to the handler.
		if err := speccheck.CheckRequest(r.Context(), r, route, params, speccheck.Serving); err != nil {
			writeError(w, requestError(err))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// parseErrorMessage is what the live service says about a body that is not JSON.
const parseErrorMessage = "We could not parse the JSON body of your request. (HINT: This likely means you aren't " +
	"using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)"

// errNotOneJSONValue says a JSON body is not exactly one JSON value.
var errNotOneJSONValue = errors.New("the JSON body is not one JSON value")

// checkJSONBody checks what the spec validator lets through on an operation that takes JSON: the
// Content-Type must parse (a header with a repeated parameter does not, and the validator would
// look past it), a JSON body must be UTF-8, and it must hold exactly one JSON value, such as not
// `{…}}` or two objects in a row (the validator decodes only the first value and would let the
// rest through). A number written with a fraction or an exponent where the spec asks for an
// integer is refused on its field (see integerLiteral). The body, already bounded, is read here
// and put back for the validator.
func checkJSONBody(r *http.Request, op *openapi3.Operation) *apiError {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return nil // the validator says what it makes of a missing body
	}
	cts := r.Header.Values("Content-Type")
	if len(cts) > 1 {
		return badRequest("", "", "The request has %d Content-Type headers; send one (application/json).", len(cts))
	}
	if len(cts) == 0 {
		return nil // the validator refuses a body without a type
	}
	media, params, err := mime.ParseMediaType(cts[0])
	if err != nil {
		return badRequest("", "", "Invalid Content-Type header (%q): %v.", cts[0], err)
	}
	if media != "application/json" {
		return nil // the validator refuses it, naming the type expected
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "utf8") {
		return badRequest("", "", "Invalid Content-Type header (%q): a JSON body is UTF-8, not %s.", cts[0], cs)
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return requestError(err)
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	if !json.Valid(b) {
		return requestError(errNotOneJSONValue)
	}
	return integerLiteral(b, jsonBodySchema(op))
}

// jsonBodySchema is the schema of op's JSON body, or nil.
func jsonBodySchema(op *openapi3.Operation) *openapi3.Schema {
	if op == nil || op.RequestBody == nil || op.RequestBody.Value == nil {
		return nil
	}
	mt := op.RequestBody.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil {
		return nil
	}
	return mt.Schema.Value
}

// integerLiteral refuses a number written with a fraction or an exponent (3.0, 3E0) in a field
// the schema types as an integer, with invalid_type on that field, as 1.5 is. JSON Schema counts
// 3.0 as an integer, so the validator lets it pass, and the decoder of the generated handler then
// refuses it into an int64 without saying where. The type is checked before the range, so 1e30 is
// a wrong type too, not a value out of range.
func integerLiteral(body []byte, schema *openapi3.Schema) *apiError {
	if schema == nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil // json.Valid said it is one value; a decoder limit is the validator's to report
	}
	if path, ok := decimalWhereInteger(v, schema, nil); ok {
		param := paramName(path)
		return badRequest(param, codeInvalidType, "Invalid type for '%s': expected an integer, but got a decimal instead.", param)
	}
	return nil
}

// decimalWhereInteger returns the path of the first number (fields in name order) that is written
// as a decimal where s asks for an integer.
func decimalWhereInteger(v any, s *openapi3.Schema, path []string) ([]string, bool) {
	if s == nil {
		return nil, false
	}
	for _, sub := range s.AllOf {
		if p, ok := decimalWhereInteger(v, sub.Value, path); ok {
			return p, true
		}
	}
	switch v := v.(type) {
	case json.Number:
		if s.Type != nil && s.Type.Is("integer") && strings.ContainsAny(string(v), ".eE") {
			return path, true
		}
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(v)) {
			if ps := s.Properties[k]; ps != nil {
				if p, ok := decimalWhereInteger(v[k], ps.Value, append(slices.Clip(path), k)); ok {
					return p, true
				}
			}
		}
	case []any:
		if s.Items != nil {
			for i, e := range v {
				if p, ok := decimalWhereInteger(e, s.Items.Value, append(slices.Clip(path), strconv.Itoa(i))); ok {
					return p, true
				}
			}
		}
	}
	return nil, false
}

// requestError turns a validation failure into the answer for it, worded like the live service's.
func requestError(err error) *apiError {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return badRequest("", "", "The request body is larger than %d bytes.", tooLarge.Limit)
	}
	if errors.Is(err, errNotOneJSONValue) {
		return badRequest("", "", parseErrorMessage)
	}
	var reqErr *openapi3filter.RequestError
	if errors.As(err, &reqErr) && reqErr.Parameter != nil {
		// Before the checks of a body's errors below, which a parameter's error also holds.
		return parameterError(reqErr)
	}
	var schemaErr *openapi3.SchemaError
	if errors.As(err, &schemaErr) {
		return schemaError(schemaErr)
	}
	var parseErr *openapi3filter.ParseError
	if errors.As(err, &parseErr) {
		return badRequest("", "", parseErrorMessage)
	}
	if reqErr != nil {
		switch {
		case strings.HasPrefix(reqErr.Reason, "header Content-Type"):
			return badRequest("", "",
				"Invalid Content-Type header (%q): this endpoint expects a JSON body (application/json).",
				reqErr.Input.Request.Header.Get("Content-Type"))
		case reqErr.RequestBody == nil && reqErr.Err != nil && strings.Contains(reqErr.Err.Error(), "body not allowed"):
			return badRequest("", "", "This endpoint takes no request body; send none (Content-Length: 0).")
		case errors.Is(err, openapi3filter.ErrInvalidRequired):
			return badRequest("", "", parseErrorMessage)
		}
	}
	return badRequest("", "", "The request does not match the API: %v", err)
}

var unsupportedProperty = regexp.MustCompile(`^property "(.*)" is unsupported$`)

// schemaError words one schema violation of a JSON body, naming the field as the live service does
// ("expires_after.seconds", "part_ids[0]").
func schemaError(e *openapi3.SchemaError) *apiError {
	return schemaErrorAt(nil, e)
}

// schemaErrorAt words one schema violation of the value at prefix: nil for a JSON body, the name of
// a query or path parameter for its value (whose errors carry an empty JSON pointer).
func schemaErrorAt(prefix []string, e *openapi3.SchemaError) *apiError {
	path := append(slices.Clip(prefix), e.JSONPointer()...)
	param := paramName(path)
	switch e.SchemaField {
	case "required":
		return badRequest(param, codeMissingRequired, "Missing required parameter: '%s'.", param)
	case "properties", "additionalProperties":
		if m := unsupportedProperty.FindStringSubmatch(e.Reason); m != nil {
			param = paramName(append(path, m[1]))
			return badRequest(param, codeUnknownParam, "Unknown parameter: '%s'.", param)
		}
	case "enum":
		allowed := make([]string, 0, len(e.Schema.Enum))
		if prefix == nil && param == "purpose" {
			// createUpload's purposes, in the order the live service lists them in; the Files
			// list filter takes every purpose a File can have, in the spec's order.
			allowed = limits.Purposes()
		} else {
			for _, v := range e.Schema.Enum {
				allowed = append(allowed, fmt.Sprint(v))
			}
		}
		return badRequest(param, "", "%s is not one of %s - '%s'", pyRepr(e.Value), pyList(allowed), param)
	case "type":
		want := "a value"
		if t := e.Schema.Type; t != nil && len(t.Slice()) > 0 {
			want = article(t.Slice()[0])
		}
		if param == "" {
			return badRequest("", codeInvalidType, "Invalid type for the request body: expected %s, but got %s instead.",
				want, jsonKind(e.Value))
		}
		return badRequest(param, codeInvalidType, "Invalid type for '%s': expected %s, but got %s instead.",
			param, want, jsonKind(e.Value))
	case "minimum":
		return badRequest(param, codeBelowMin, "Invalid '%s': integer below minimum value. Expected a value >= %s, but got %s instead.",
			param, number(e.Schema.Min), pyRepr(e.Value))
	case "maximum":
		return badRequest(param, codeAboveMax, "Invalid '%s': integer above maximum value. Expected a value <= %s, but got %s instead.",
			param, number(e.Schema.Max), pyRepr(e.Value))
	case "minLength":
		return badRequest(param, codeEmptyString, "Invalid '%s': empty string. Expected a string with minimum length %d, but got an empty string instead.",
			param, e.Schema.MinLength)
	case "minItems":
		return badRequest(param, codeEmptyArray, "Invalid '%s': empty array. Expected an array with minimum length %d, but got an empty array instead.",
			param, e.Schema.MinItems)
	case "pattern":
		return badRequest(param, codeInvalidValue, "Invalid '%s': %s does not match the pattern '%s'.",
			param, pyRepr(e.Value), e.Schema.Pattern)
	}
	if param == "" {
		// The body as a whole: `null`, for instance, where an object is required.
		return badRequest("", codeInvalidValue, "Invalid request body: %s.", strings.TrimSuffix(e.Reason, "."))
	}
	return badRequest(param, codeInvalidValue, "Invalid '%s': %s.", param, strings.TrimSuffix(e.Reason, "."))
}

// parameterError words what is wrong with the value of a query or path parameter, naming the
// parameter in param. The live service's documentation shows no answer to a bad parameter, so
// these follow its answers for body fields: the same code and words where the same thing is
// wrong ("Invalid 'limit': integer below minimum value. ...", "'up' is not one of ['asc',
// 'desc'] - 'order'"). Where the value is not of the parameter's type, the message quotes the
// value instead of naming its JSON kind: every query value is text, and "but got a string
// instead" would say that of each one.
func parameterError(e *openapi3filter.RequestError) *apiError {
	p := e.Parameter
	name := p.Name
	var schema *openapi3.Schema
	if p.Schema != nil {
		schema = p.Schema.Value
	}
	var schemaErr *openapi3.SchemaError
	var parseErr *openapi3filter.ParseError
	switch {
	case errors.As(e.Err, &schemaErr):
		return schemaErrorAt([]string{name}, schemaErr)
	case errors.Is(e.Err, openapi3filter.ErrInvalidRequired):
		return badRequest(name, codeMissingRequired, "Missing required parameter: '%s'.", name)
	case errors.Is(e.Err, openapi3filter.ErrInvalidEmptyValue):
		return parameterTypeError(name, schema, "")
	case errors.As(e.Err, &parseErr):
		raw, ok := parseErr.Value.(string)
		if !ok && e.Input != nil && e.Input.Request != nil {
			raw = e.Input.Request.URL.Query().Get(name)
		}
		return parameterTypeError(name, schema, raw)
	}
	reason := strings.TrimSuffix(e.Reason, ".")
	if reason == "" && e.Err != nil {
		reason = strings.TrimSuffix(e.Err.Error(), ".")
	}
	return badRequest(name, codeInvalidValue, "Invalid '%s': %s.", name, reason)
}

// wholeNumber is an integer as text, of any size.
var wholeNumber = regexp.MustCompile(`^[-+]?[0-9]+$`)

// parameterTypeError is the answer for raw, the value of parameter name, which is not of the type
// its schema asks for. An integer too large for 64 bits is out of the parameter's range, not of
// the wrong type.
func parameterTypeError(name string, schema *openapi3.Schema, raw string) *apiError {
	want := "a value"
	if schema != nil && schema.Type != nil && len(schema.Type.Slice()) > 0 {
		want = article(schema.Type.Slice()[0])
	}
	if schema != nil && schema.Type.Is("integer") && wholeNumber.MatchString(raw) {
		if strings.HasPrefix(raw, "-") && schema.Min != nil {
			return badRequest(name, codeBelowMin, "Invalid '%s': integer below minimum value. Expected a value >= %s, but got %s instead.",
				name, number(schema.Min), raw)
		}
		if !strings.HasPrefix(raw, "-") && schema.Max != nil {
			return badRequest(name, codeAboveMax, "Invalid '%s': integer above maximum value. Expected a value <= %s, but got %s instead.",
				name, number(schema.Max), raw)
		}
	}
	got := "an empty string"
	if raw != "" {
		got = pyRepr(raw)
	}
	return badRequest(name, codeInvalidType, "Invalid type for '%s': expected %s, but got %s instead.", name, want, got)
}

// repeatedParameter refuses a query parameter of op given more than once (`?limit=1&limit=2`):
// each takes one value, and the validator would check the first and let the others pass. A query
// parameter op does not define is ignored, not refused as an unknown body field is: a URL may
// carry parameters meant for a proxy or a cache on the way.
func repeatedParameter(r *http.Request, op *openapi3.Operation) *apiError {
	if op == nil || r.URL.RawQuery == "" {
		return nil
	}
	query := r.URL.Query()
	for _, ref := range op.Parameters {
		if ref == nil || ref.Value == nil || ref.Value.In != openapi3.ParameterInQuery {
			continue
		}
		name := ref.Value.Name
		if n := len(query[name]); n > 1 {
			return badRequest(name, codeInvalidValue, "Invalid '%s': expected one value, but got %d values instead.", name, n)
		}
	}
	return nil
}

// paramName spells a JSON pointer the way the live service names fields: dots between names,
// brackets around indexes.
func paramName(path []string) string {
	var b strings.Builder
	for _, p := range path {
		if _, err := strconv.Atoi(p); err == nil && b.Len() > 0 {
			b.WriteString("[" + p + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}

// pyRepr quotes a value the way the live service's messages do: strings in single quotes, numbers
// as written.
func pyRepr(v any) string {
	switch v := v.(type) {
	case string:
		return "'" + v + "'"
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case nil:
		return "None"
	}
	return fmt.Sprint(v)
}

func pyList(items []string) string {
	quoted := make([]string, len(items))
	for i, it := range items {
		quoted[i] = "'" + it + "'"
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}

func number(f *float64) string {
	if f == nil {
		return "?"
	}
	return strconv.FormatFloat(*f, 'f', -1, 64)
}

func article(jsonType string) string {
	switch jsonType {
	case "integer", "object", "array":
		return "an " + jsonType
	}
	return "a " + jsonType
}

// jsonKind names the JSON type of a decoded value.
func jsonKind(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case float64:
		if v == float64(int64(v)) {
			return "an integer"
		}
		return "a decimal"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return "a value"
}
