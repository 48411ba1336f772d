package reliability

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// hostile is one hostile request and the answer it must get.
type hostile struct {
	name   string
	method string // POST when empty
	path   string // under /v1, with the fixtures' placeholders
	auth   string // the Authorization header: "Bearer keyA" when empty, none when "-"
	ct     string // Content-Type: application/json when empty and there is a body, none when "-"
	header http.Header
	body   string // with the fixtures' placeholders
	// stream, when set, builds the body instead: its content type, reader and length (-1: chunked).
	stream func() (string, io.Reader, int64)

	status           int
	typ, param, code string                                     // of the envelope; "" for null
	message          string                                     // the envelope's message exactly, when set
	notEnvelope      bool                                       // the answer comes from net/http itself, before the API (431)
	accepted         func(t *testing.T, in *inspector, r reply) // for the few the API accepts
}

const inv = "invalid_request_error"

func createWith(fields string) string {
	return `{"purpose":"fine-tune","filename":"a.jsonl","mime_type":"text/jsonl"` + fields + `}`
}

// hostileRequests is the table. Every request here is refused and must change nothing in the
// store, except those with accepted set, which the API takes as they are (a file name is data).
var hostileRequests = []hostile{
	// Malformed JSON and wrong body shapes for createUpload.
	{name: "create/truncated JSON", path: "/uploads", body: `{"purpose":"fine-tune","bytes":`, status: 400, typ: inv},
	{name: "create/not JSON", path: "/uploads", body: `purpose=fine-tune&bytes=3`, status: 400, typ: inv},
	{name: "create/empty body", path: "/uploads", body: ``, ct: "application/json", status: 400, typ: inv},
	{name: "create/JSON null", path: "/uploads", body: `null`, status: 400, typ: inv, code: "invalid_value"},
	{name: "create/JSON array", path: "/uploads", body: `[]`, status: 400, typ: inv, code: "invalid_type"},
	{name: "create/JSON string", path: "/uploads", body: `"fine-tune"`, status: 400, typ: inv, code: "invalid_type"},
	{name: "create/trailing garbage", path: "/uploads", body: createWith(`,"bytes":3`) + `}}`, status: 400, typ: inv},
	{name: "create/two objects", path: "/uploads", body: createWith(`,"bytes":3`) + createWith(`,"bytes":3`), status: 400, typ: inv},
	{name: "create/deep nesting", path: "/uploads", body: strings.Repeat("[", 100000), status: 400, typ: inv},
	// Bytes that are not UTF-8 decode as U+FFFD, as encoding/json does everywhere; the name is data.
	{name: "create/invalid UTF-8", path: "/uploads", body: "{\"purpose\":\"fine-tune\",\"filename\":\"\xff\xfe\",\"bytes\":3,\"mime_type\":\"text/jsonl\"}", status: 200, accepted: filenameKept("\uFFFD\uFFFD")},
	{name: "create/body over 1 MiB", path: "/uploads", body: createWith(`,"bytes":3,"x":"` + repeatString("x", 1<<20) + `"`), status: 400, typ: inv},
	// Wrong types.
	{name: "create/filename number", path: "/uploads", body: `{"purpose":"fine-tune","filename":5,"bytes":3,"mime_type":"text/jsonl"}`, status: 400, typ: inv, param: "filename", code: "invalid_type"},
	{name: "create/purpose array", path: "/uploads", body: `{"purpose":["fine-tune"],"filename":"a","bytes":3,"mime_type":"text/jsonl"}`, status: 400, typ: inv, param: "purpose"},
	{name: "create/mime_type object", path: "/uploads", body: `{"purpose":"fine-tune","filename":"a","bytes":3,"mime_type":{}}`, status: 400, typ: inv, param: "mime_type", code: "invalid_type"},
	{name: "create/bytes string", path: "/uploads", body: createWith(`,"bytes":"3"`), status: 400, typ: inv, param: "bytes", code: "invalid_type"},
	{name: "create/bytes boolean", path: "/uploads", body: createWith(`,"bytes":true`), status: 400, typ: inv, param: "bytes", code: "invalid_type"},
	{name: "create/bytes null", path: "/uploads", body: createWith(`,"bytes":null`), status: 400, typ: inv, param: "bytes", code: "invalid_value"},
	{name: "create/expires_after string", path: "/uploads", body: createWith(`,"bytes":3,"expires_after":"1h"`), status: 400, typ: inv, param: "expires_after", code: "invalid_type"},
	// bytes out of range.
	{name: "create/bytes negative", path: "/uploads", body: createWith(`,"bytes":-1`), status: 400, typ: inv, param: "bytes", code: "integer_below_min_value"},
	{name: "create/bytes zero", path: "/uploads", body: createWith(`,"bytes":0`), status: 400, typ: inv, param: "bytes", code: "integer_below_min_value"},
	{name: "create/bytes min int64", path: "/uploads", body: createWith(`,"bytes":-9223372036854775808`), status: 400, typ: inv, param: "bytes", code: "integer_below_min_value"},
	{name: "create/bytes 8 GiB + 1", path: "/uploads", body: createWith(`,"bytes":8589934593`), status: 400, typ: inv, param: "bytes", code: "integer_above_max_value"},
	{name: "create/bytes max int64", path: "/uploads", body: createWith(`,"bytes":9223372036854775807`), status: 400, typ: inv, param: "bytes", code: "integer_above_max_value"},
	{name: "create/bytes past int64", path: "/uploads", body: createWith(`,"bytes":99999999999999999999999999`), status: 400, typ: inv, param: "bytes", code: "invalid_value"},
	// A number written with a fraction or an exponent is not an integer, whatever its value.
	{name: "create/bytes 1e30", path: "/uploads", body: createWith(`,"bytes":1e30`), status: 400, typ: inv, param: "bytes", code: "invalid_type"},
	{name: "create/bytes 3.0", path: "/uploads", body: createWith(`,"bytes":3.0`), status: 400, typ: inv, param: "bytes", code: "invalid_type"},
	{name: "create/bytes 3E0", path: "/uploads", body: createWith(`,"bytes":3E0`), status: 400, typ: inv, param: "bytes", code: "invalid_type"},
	{name: "create/seconds 3600.0", path: "/uploads", body: createWith(`,"bytes":3,"expires_after":{"anchor":"created_at","seconds":3600.0}`), status: 400, typ: inv, param: "expires_after.seconds", code: "invalid_type"},
	{name: "create/bytes fraction", path: "/uploads", body: createWith(`,"bytes":1.5`), status: 400, typ: inv, param: "bytes", code: "invalid_type"},
	{name: "create/bytes tiny fraction", path: "/uploads", body: createWith(`,"bytes":0.0000001`), status: 400, typ: inv, param: "bytes", code: "invalid_type"},
	{name: "create/expires_after seconds too small", path: "/uploads", body: createWith(`,"bytes":3,"expires_after":{"anchor":"created_at","seconds":10}`), status: 400, typ: inv, param: "expires_after.seconds", code: "integer_below_min_value"},
	{name: "create/expires_after seconds too large", path: "/uploads", body: createWith(`,"bytes":3,"expires_after":{"anchor":"created_at","seconds":2592001}`), status: 400, typ: inv, param: "expires_after.seconds", code: "integer_above_max_value"},
	// Unknown values, missing and unknown fields.
	{name: "create/unknown purpose", path: "/uploads", body: `{"purpose":"world_domination","filename":"a","bytes":3,"mime_type":"text/jsonl"}`, status: 400, typ: inv, param: "purpose"},
	{name: "create/purpose in capitals", path: "/uploads", body: `{"purpose":"FINE-TUNE","filename":"a","bytes":3,"mime_type":"text/jsonl"}`, status: 400, typ: inv, param: "purpose"},
	{name: "create/unknown anchor", path: "/uploads", body: createWith(`,"bytes":3,"expires_after":{"anchor":"now","seconds":3600}`), status: 400, typ: inv, param: "expires_after.anchor"},
	{name: "create/missing filename", path: "/uploads", body: `{"purpose":"fine-tune","bytes":3,"mime_type":"text/jsonl"}`, status: 400, typ: inv, param: "filename", code: "missing_required_parameter"},
	{name: "create/missing purpose", path: "/uploads", body: `{"filename":"a","bytes":3,"mime_type":"text/jsonl"}`, status: 400, typ: inv, param: "purpose", code: "missing_required_parameter"},
	{name: "create/missing bytes", path: "/uploads", body: createWith(``), status: 400, typ: inv, param: "bytes", code: "missing_required_parameter"},
	{name: "create/missing mime_type", path: "/uploads", body: `{"purpose":"fine-tune","filename":"a","bytes":3}`, status: 400, typ: inv, param: "mime_type", code: "missing_required_parameter"},
	{name: "create/missing seconds", path: "/uploads", body: createWith(`,"bytes":3,"expires_after":{"anchor":"created_at"}`), status: 400, typ: inv, param: "expires_after.seconds", code: "missing_required_parameter"},
	{name: "create/unknown field", path: "/uploads", body: createWith(`,"bytes":3,"owner":"someone-else"`), status: 400, typ: inv, param: "owner", code: "unknown_parameter"},
	{name: "create/unknown nested field", path: "/uploads", body: createWith(`,"bytes":3,"expires_after":{"anchor":"created_at","seconds":3600,"x":1}`), status: 400, typ: inv, param: "expires_after.x", code: "unknown_parameter"},
	{name: "create/empty filename", path: "/uploads", body: `{"purpose":"fine-tune","filename":"","bytes":3,"mime_type":"text/jsonl"}`, status: 400, typ: inv, param: "filename", code: "empty_string"},
	{name: "create/blank filename", path: "/uploads", body: `{"purpose":"fine-tune","filename":"   ","bytes":3,"mime_type":"text/jsonl"}`, status: 400, typ: inv, param: "filename", code: "empty_string"},
	{name: "create/empty mime_type", path: "/uploads", body: `{"purpose":"fine-tune","filename":"a","bytes":3,"mime_type":""}`, status: 400, typ: inv, param: "mime_type", code: "empty_string"},
	// MIME types: the syntax always, the type where the purpose has a list (see server/mimetypes.go).
	{name: "create/mime_type not a MIME type", path: "/uploads", body: `{"purpose":"assistants","filename":"a","bytes":3,"mime_type":"not a mime\r\ntype"}`, status: 400, typ: inv, param: "mime_type", code: "invalid_value"},
	{name: "create/mime_type without a subtype", path: "/uploads", body: `{"purpose":"user_data","filename":"a","bytes":3,"mime_type":"text"}`, status: 400, typ: inv, param: "mime_type", code: "invalid_value"},
	{name: "create/mime_type a program for vision", path: "/uploads", body: `{"purpose":"vision","filename":"a.exe","bytes":3,"mime_type":"application/x-msdownload"}`, status: 400, typ: inv, param: "mime_type", code: "unsupported_file_mimetype"},
	{name: "create/mime_type an image for fine-tune", path: "/uploads", body: `{"purpose":"fine-tune","filename":"a.png","bytes":3,"mime_type":"image/png"}`, status: 400, typ: inv, param: "mime_type", code: "unsupported_file_mimetype"},
	// Content types.
	{name: "create/text/plain", path: "/uploads", ct: "text/plain", body: createWith(`,"bytes":3`), status: 400, typ: inv},
	{name: "create/no content type", path: "/uploads", ct: "-", body: createWith(`,"bytes":3`), status: 400, typ: inv},
	{name: "create/multipart content type", path: "/uploads", ct: "multipart/form-data; boundary=x", body: createWith(`,"bytes":3`), status: 400, typ: inv},
	// A Content-Type that does not parse (a repeated parameter) is refused, not looked past.
	{name: "create/charset twice, two objects", path: "/uploads", ct: "application/json; charset=utf-8; charset=latin1", body: createWith(`,"bytes":3`) + createWith(`,"bytes":3`), status: 400, typ: inv},
	{name: "create/charset twice, trailing garbage", path: "/uploads", ct: "application/json; charset=utf-8; charset=latin1", body: createWith(`,"bytes":3`) + `}}garbage`, status: 400, typ: inv},
	{name: "create/charset latin1", path: "/uploads", ct: "application/json; charset=latin1", body: createWith(`,"bytes":3`), status: 400, typ: inv},
	{name: "create/two Content-Type headers", path: "/uploads", ct: "-", header: http.Header{"Content-Type": {"application/json", "text/plain"}}, body: createWith(`,"bytes":3`), status: 400, typ: inv},
	{name: "complete/charset twice, two objects", path: "/uploads/{pending}/complete", ct: "application/json; charset=utf-8; charset=latin1", body: `{"part_ids":["{p1}","{p2}"]}{"part_ids":["x"]}`, status: 400, typ: inv},
	{name: "complete/form content type", path: "/uploads/{pending}/complete", ct: "application/x-www-form-urlencoded", body: `part_ids={p1}`, status: 400, typ: inv},
	{name: "part/JSON instead of a form", path: "/uploads/{pending}/parts", body: `{"data":"aGVsbG8="}`, status: 400, typ: inv, param: "data"},
	{name: "part/no content type", path: "/uploads/{pending}/parts", ct: "-", body: `hello`, status: 400, typ: inv, param: "data"},
	{name: "part/multipart but not a form", path: "/uploads/{pending}/parts", ct: "multipart/mixed; boundary=x", body: "--x\r\nContent-Disposition: form-data; name=\"data\"\r\n\r\nhello\r\n--x--\r\n", status: 400, typ: inv, param: "data"},
	{name: "part/raw octet stream", path: "/uploads/{pending}/parts", ct: "application/octet-stream", body: `hello`, status: 400, typ: inv, param: "data"},
	// Multipart forms.
	{name: "part/no boundary", path: "/uploads/{pending}/parts", ct: "multipart/form-data", body: "--x\r\nContent-Disposition: form-data; name=\"data\"\r\n\r\nhello\r\n--x--\r\n", status: 400, typ: inv, param: "data"},
	{name: "part/boundary not in body", path: "/uploads/{pending}/parts", ct: "multipart/form-data; boundary=nothere", body: "--x\r\nContent-Disposition: form-data; name=\"data\"\r\n\r\nhello\r\n--x--\r\n", status: 400, typ: inv, param: "data", code: "missing_required_parameter"},
	// RFC 2046 caps a boundary at 70 characters; Go's reader takes longer ones, and so the part is kept.
	{name: "part/boundary too long", path: "/uploads/{pending}/parts", ct: "multipart/form-data; boundary=" + strings.Repeat("b", 100), body: "--" + strings.Repeat("b", 100) + "\r\nContent-Disposition: form-data; name=\"data\"\r\n\r\nhello\r\n--" + strings.Repeat("b", 100) + "--\r\n", status: 200, accepted: partHolds("hello")},
	{name: "part/empty form", path: "/uploads/{pending}/parts", ct: "multipart/form-data; boundary=x", body: "--x--\r\n", status: 400, typ: inv, param: "data", code: "missing_required_parameter"},
	{name: "part/empty body", path: "/uploads/{pending}/parts", ct: "multipart/form-data; boundary=x", body: "", status: 400, typ: inv, param: "data", code: "missing_required_parameter"},
	{name: "part/form without data", stream: formOf(formField{name: "file", filename: "a", data: []byte("hello")}), path: "/uploads/{pending}/parts", status: 400, typ: inv, param: "data", code: "missing_required_parameter"},
	{name: "part/two data fields", stream: formOf(formField{name: "data", filename: "a", data: []byte("hel")}, formField{name: "data", filename: "b", data: []byte("lo")}), path: "/uploads/{pending}/parts", status: 400, typ: inv, param: "data"},
	{name: "part/data then other field then data", stream: formOf(formField{name: "data", data: []byte("he")}, formField{name: "note", data: []byte("x")}, formField{name: "data", data: []byte("llo")}), path: "/uploads/{pending}/parts", status: 400, typ: inv, param: "data"},
	{name: "part/form cut short", path: "/uploads/{pending}/parts", ct: "multipart/form-data; boundary=x", body: "--x\r\nContent-Disposition: form-data; name=\"data\"; filename=\"a\"\r\n\r\nhello wor", status: 400, typ: inv, param: "data"},
	{name: "part/header of the field cut short", path: "/uploads/{pending}/parts", ct: "multipart/form-data; boundary=x", body: "--x\r\nContent-Disposition: form-data; na", status: 400, typ: inv, param: "data", code: "missing_required_parameter"},
	// Stored as sent: the quoted-printable encoding is not undone (NextRawPart).
	{name: "part/quoted-printable", path: "/uploads/{pending}/parts", ct: "multipart/form-data; boundary=x", body: "--x\r\nContent-Disposition: form-data; name=\"data\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\na=3Db\r\n--x--\r\n", status: 200, accepted: partHolds("a=3Db")},
	{name: "part/64 MiB + 1 byte, length announced", path: "/uploads/{pending}/parts", stream: func() (string, io.Reader, int64) {
		return streamedForm(64<<20 + 1)
	}, status: 413, typ: inv, param: "data", code: "part_too_large"},
	{name: "part/64 MiB + 1 byte, chunked", path: "/uploads/{pending}/parts", stream: func() (string, io.Reader, int64) {
		ct, body, _ := streamedForm(64<<20 + 1)
		return ct, body, -1
	}, status: 413, typ: inv, param: "data", code: "part_too_large"},
	// Parts past the storage limits (the table's server has small ones: tableMaxUpload, tableQuota).
	{name: "part/past the upload's limit", path: "/uploads/{full}/parts", stream: formOf(formField{name: "data", filename: "a", data: []byte("x")}), status: 400, typ: inv, param: "data", code: "upload_too_large"},
	{name: "part/past the key's storage quota", path: "/uploads/{ofC}/parts", auth: "Bearer " + keyC, stream: formOf(formField{name: "data", filename: "a", data: []byte("x")}), status: 400, typ: inv, param: "data", code: "storage_quota_exceeded"},
	// Parts on uploads that cannot take one.
	{name: "part/cancelled upload", path: "/uploads/{cancelled}/parts", stream: formOf(formField{name: "data", filename: "a", data: []byte("abc")}), status: 400, typ: inv, param: "upload_id"},
	{name: "part/completed upload", path: "/uploads/{done}/parts", stream: formOf(formField{name: "data", filename: "a", data: []byte("abc")}), status: 400, typ: inv, param: "upload_id"},
	{name: "part/expired upload", path: "/uploads/{expired}/parts", stream: formOf(formField{name: "data", filename: "a", data: []byte("abc")}), status: 400, typ: inv, param: "upload_id"},
	{name: "part/unknown upload", path: "/uploads/upload_00000000000000000000000000000000/parts", stream: formOf(formField{name: "data", filename: "a", data: []byte("abc")}), status: 404, typ: inv, param: "upload_id", code: "not_found"},
	// completeUpload with bad part lists.
	{name: "complete/empty part_ids", path: "/uploads/{pending}/complete", body: `{"part_ids":[]}`, status: 400, typ: inv, param: "part_ids", code: "empty_array"},
	{name: "complete/missing part_ids", path: "/uploads/{pending}/complete", body: `{}`, status: 400, typ: inv, param: "part_ids", code: "missing_required_parameter"},
	{name: "complete/part_ids string", path: "/uploads/{pending}/complete", body: `{"part_ids":"{p1}"}`, status: 400, typ: inv, param: "part_ids", code: "invalid_type"},
	{name: "complete/part id number", path: "/uploads/{pending}/complete", body: `{"part_ids":[1]}`, status: 400, typ: inv, param: "part_ids[0]", code: "invalid_type"},
	{name: "complete/part id empty", path: "/uploads/{pending}/complete", body: `{"part_ids":["{p1}",""]}`, status: 400, typ: inv, param: "part_ids[1]", code: "empty_string"},
	{name: "complete/unknown part", path: "/uploads/{pending}/complete", body: `{"part_ids":["{p1}","part_00000000000000000000000000000000"]}`, status: 400, typ: inv, param: "part_ids", code: "invalid_value"},
	{name: "complete/duplicate part", path: "/uploads/{pending}/complete", body: `{"part_ids":["{p1}","{p1}"]}`, status: 400, typ: inv, param: "part_ids", code: "invalid_value"},
	{name: "complete/part of another upload", path: "/uploads/{pending}/complete", body: `{"part_ids":["{p1}","{q1}"]}`, status: 400, typ: inv, param: "part_ids", code: "invalid_value"},
	{name: "complete/part of another key's upload", path: "/uploads/{pending}/complete", body: `{"part_ids":["{p1}","{b1}"]}`, status: 400, typ: inv, param: "part_ids", code: "invalid_value"},
	{name: "complete/too few bytes", path: "/uploads/{pending}/complete", body: `{"part_ids":["{p1}"]}`, status: 400, typ: inv, param: "part_ids", code: "invalid_value"},
	{name: "complete/wrong md5", path: "/uploads/{pending}/complete", body: `{"part_ids":["{p1}","{p2}"],"md5":"00000000000000000000000000000000"}`, status: 400, typ: inv, param: "md5", code: "invalid_value"},
	{name: "complete/md5 of the other order", path: "/uploads/{pending}/complete", body: `{"part_ids":["{p2}","{p1}"],"md5":"fc5e038d38a57032085441e7fe7010b0"}`, status: 400, typ: inv, param: "md5", code: "invalid_value"},
	{name: "complete/md5 not hex", path: "/uploads/{pending}/complete", body: `{"part_ids":["{p1}","{p2}"],"md5":"zz5e038d38a57032085441e7fe7010b0"}`, status: 400, typ: inv, param: "md5", code: "invalid_value"},
	{name: "complete/md5 number", path: "/uploads/{pending}/complete", body: `{"part_ids":["{p1}","{p2}"],"md5":5}`, status: 400, typ: inv, param: "md5", code: "invalid_type"},
	{name: "complete/unknown field", path: "/uploads/{pending}/complete", body: `{"part_ids":["{p1}","{p2}"],"force":true}`, status: 400, typ: inv, param: "force", code: "unknown_parameter"},
	{name: "complete/trailing garbage", path: "/uploads/{pending}/complete", body: `{"part_ids":["{p1}","{p2}"]}]`, status: 400, typ: inv},
	{name: "complete/truncated JSON", path: "/uploads/{pending}/complete", body: `{"part_ids":["{p1}","{p2}"`, status: 400, typ: inv},
	{name: "complete/cancelled upload", path: "/uploads/{cancelled}/complete", body: `{"part_ids":["{p1}"]}`, status: 400, typ: inv, param: "upload_id"},
	{name: "complete/completed upload again", path: "/uploads/{done}/complete", body: `{"part_ids":["{p1}"]}`, status: 400, typ: inv, param: "upload_id"},
	{name: "complete/expired upload with its part", path: "/uploads/{expired}/complete", body: `{"part_ids":["{e1}"]}`, status: 400, typ: inv, param: "upload_id"},
	{name: "complete/part id with a path", path: "/uploads/{pending}/complete", body: `{"part_ids":["../{other}/{q1}","{p2}"]}`, status: 400, typ: inv, param: "part_ids", code: "invalid_value"},
	// cancelUpload.
	{name: "cancel/with a body", path: "/uploads/{pending}/cancel", body: `{"reason":"x"}`, status: 400, typ: inv},
	{name: "cancel/cancelled upload", path: "/uploads/{cancelled}/cancel", status: 400, typ: inv, param: "upload_id"},
	{name: "cancel/completed upload", path: "/uploads/{done}/cancel", status: 400, typ: inv, param: "upload_id"},
	{name: "cancel/expired upload", path: "/uploads/{expired}/cancel", status: 400, typ: inv, param: "upload_id"},
	// listFiles with bad query parameters: each names its parameter and says what it takes.
	{name: "list/limit zero", method: "GET", path: "/files?limit=0", status: 400, typ: inv, param: "limit", code: "integer_below_min_value",
		message: "Invalid 'limit': integer below minimum value. Expected a value >= 1, but got 0 instead."},
	{name: "list/limit past the maximum", method: "GET", path: "/files?limit=10001", status: 400, typ: inv, param: "limit", code: "integer_above_max_value",
		message: "Invalid 'limit': integer above maximum value. Expected a value <= 10000, but got 10001 instead."},
	{name: "list/limit past int64", method: "GET", path: "/files?limit=99999999999999999999", status: 400, typ: inv, param: "limit", code: "integer_above_max_value",
		message: "Invalid 'limit': integer above maximum value. Expected a value <= 10000, but got 99999999999999999999 instead."},
	{name: "list/limit a word", method: "GET", path: "/files?limit=abc", status: 400, typ: inv, param: "limit", code: "invalid_type",
		message: "Invalid type for 'limit': expected an integer, but got 'abc' instead."},
	{name: "list/limit a decimal", method: "GET", path: "/files?limit=1.5", status: 400, typ: inv, param: "limit", code: "invalid_type",
		message: "Invalid type for 'limit': expected an integer, but got '1.5' instead."},
	{name: "list/limit empty", method: "GET", path: "/files?limit=", status: 400, typ: inv, param: "limit", code: "invalid_type",
		message: "Invalid type for 'limit': expected an integer, but got an empty string instead."},
	{name: "list/limit twice", method: "GET", path: "/files?limit=1&limit=2", status: 400, typ: inv, param: "limit", code: "invalid_value",
		message: "Invalid 'limit': expected one value, but got 2 values instead."},
	{name: "list/order unknown", method: "GET", path: "/files?order=up", status: 400, typ: inv, param: "order",
		message: "'up' is not one of ['asc', 'desc'] - 'order'"},
	{name: "list/order empty", method: "GET", path: "/files?order=", status: 400, typ: inv, param: "order",
		message: "'' is not one of ['asc', 'desc'] - 'order'"},
	{name: "list/purpose unknown", method: "GET", path: "/files?purpose=world_domination", status: 400, typ: inv, param: "purpose",
		message: "'world_domination' is not one of ['assistants', 'assistants_output', 'batch', 'batch_output', 'fine-tune', 'fine-tune-results', 'vision', 'user_data', 'evals'] - 'purpose'"},
	{name: "list/after empty", method: "GET", path: "/files?after=", status: 400, typ: inv, param: "after", code: "empty_string",
		message: "Invalid 'after': empty string. Expected a string with minimum length 1, but got an empty string instead."},
	{name: "list/after no File", method: "GET", path: "/files?after=file-unknown", status: 400, typ: inv, param: "after",
		message: "Invalid 'after': no File with id 'file-unknown' to list after."},
	{name: "list/after another key's File", method: "GET", path: "/files?after={file}", auth: "Bearer " + keyB, status: 400, typ: inv, param: "after",
		message: "Invalid 'after': no File with id '{file}' to list after."},
	// Path tricks in ids.
	// A path with dot segments or doubled slashes is refused, not redirected to the cleaned path.
	{name: "id/dot dot", path: "/uploads/../uploads/{pending}/cancel", status: 404, typ: inv},
	{name: "id/dot", path: "/uploads/./{pending}/cancel", status: 404, typ: inv},
	{name: "id/double slash", path: "/uploads//{pending}/cancel", status: 404, typ: inv},
	{name: "id/escaped dot dot", path: "/uploads/%2E%2E/{pending}/cancel", status: 404, typ: inv},
	{name: "id/escaped slash", path: "/uploads/{pending}%2F..%2F{other}/cancel", status: 404, typ: inv, param: "upload_id", code: "not_found"},
	{name: "id/escaped dot dot slash in file id", method: "GET", path: "/files/..%2F..%2Fuploads.db/content", status: 404, typ: inv, param: "id", code: ""},
	{name: "id/NUL", path: "/uploads/{pending}%00/cancel", status: 404, typ: inv, param: "upload_id", code: "not_found"},
	{name: "id/NUL in file id", method: "GET", path: "/files/{file}%00", status: 404, typ: inv, param: "id", code: ""},
	{name: "id/unicode", path: "/uploads/%E2%98%83/cancel", status: 404, typ: inv, param: "upload_id", code: "not_found"},
	{name: "id/10 KB", path: "/uploads/" + repeatString("upload_", 10<<10) + "/cancel", status: 404, typ: inv, param: "upload_id", code: "not_found"},
	{name: "id/past the header limit", path: "/uploads/" + repeatString("upload_", 80<<10) + "/cancel", status: 431, notEnvelope: true},
	{name: "id/part ids of another upload in the path", path: "/uploads/{q1}/cancel", status: 404, typ: inv, param: "upload_id", code: "not_found"},
	// Path tricks in file names: the API takes a name as data and never as a path.
	{name: "filename/dot dot", path: "/uploads", body: `{"purpose":"fine-tune","filename":"../../../../etc/passwd","bytes":3,"mime_type":"text/jsonl"}`, status: 200, accepted: filenameKept("../../../../etc/passwd")},
	{name: "filename/absolute", path: "/uploads", body: `{"purpose":"fine-tune","filename":"/tmp/x/uploads.db","bytes":3,"mime_type":"text/jsonl"}`, status: 200, accepted: filenameKept("/tmp/x/uploads.db")},
	{name: "filename/NUL", path: "/uploads", body: `{"purpose":"fine-tune","filename":"a\u0000.jsonl","bytes":3,"mime_type":"text/jsonl"}`, status: 400, typ: inv, param: "filename", code: "invalid_value"},
	{name: "mime_type/NUL", path: "/uploads", body: `{"purpose":"fine-tune","filename":"a.jsonl","bytes":3,"mime_type":"text/jsonl; x=\"\u0000\""}`, status: 400, typ: inv, param: "mime_type", code: "invalid_value"},
	{name: "filename/100 KB", path: "/uploads", body: `{"purpose":"fine-tune","filename":"` + repeatString("long", 100<<10) + `","bytes":3,"mime_type":"text/jsonl"}`, status: 200, accepted: filenameKept(repeatString("long", 100<<10))},
	{name: "filename/in the part's form", path: "/uploads/{pending}/parts", stream: formOf(formField{name: "data", filename: "../../../uploads.db", data: []byte("evil")}), status: 200, accepted: partStoredUnderItsID},
	// Keys.
	{name: "auth/none", path: "/uploads", auth: "-", body: createWith(`,"bytes":3`), status: 401, typ: inv, code: "invalid_api_key"},
	{name: "auth/wrong key", path: "/uploads", auth: "Bearer sk-not-a-key-0123456789", body: createWith(`,"bytes":3`), status: 401, typ: inv, code: "invalid_api_key"},
	{name: "auth/empty bearer", path: "/uploads/{pending}/cancel", auth: "Bearer ", status: 401, typ: inv, code: "invalid_api_key"},
	{name: "auth/basic scheme", path: "/uploads/{pending}/cancel", auth: "Basic " + keyA, status: 401, typ: inv, code: "invalid_api_key"},
	{name: "auth/key with a suffix", path: "/uploads/{pending}/cancel", auth: "Bearer " + keyA + "x", status: 401, typ: inv, code: "invalid_api_key"},
	{name: "auth/key of another server", path: "/uploads/{pending}/cancel", auth: "Bearer sk-local-dev", status: 401, typ: inv, code: "invalid_api_key"},
	{name: "auth/two headers, both right", path: "/uploads/{pending}/cancel", auth: "-", header: http.Header{"Authorization": {"Bearer " + keyA, "Bearer " + keyA}}, status: 401, typ: inv, code: "invalid_api_key"},
	{name: "auth/two headers, the first right", path: "/uploads/{pending}/cancel", auth: "-", header: http.Header{"Authorization": {"Bearer " + keyA, "Bearer sk-not-a-key-0123456789"}}, status: 401, typ: inv, code: "invalid_api_key"},
	{name: "auth/two headers, the second right", path: "/uploads/{pending}/cancel", auth: "-", header: http.Header{"Authorization": {"Bearer sk-not-a-key-0123456789", "Bearer " + keyA}}, status: 401, typ: inv, code: "invalid_api_key"},
	{name: "auth/cancel another key's upload", path: "/uploads/{ofB}/cancel", status: 404, typ: inv, param: "upload_id", code: "not_found"},
	{name: "auth/part to another key's upload", path: "/uploads/{ofB}/parts", stream: formOf(formField{name: "data", filename: "a", data: []byte("abc")}), status: 404, typ: inv, param: "upload_id", code: "not_found"},
	{name: "auth/complete another key's upload", path: "/uploads/{ofB}/complete", body: `{"part_ids":["{b1}"]}`, status: 404, typ: inv, param: "upload_id", code: "not_found"},
	{name: "auth/another key's file", method: "GET", path: "/files/{file}", auth: "Bearer " + keyB, status: 404, typ: inv, param: "id", code: ""},
	{name: "auth/another key's file content", method: "GET", path: "/files/{file}/content", auth: "Bearer " + keyB, status: 404, typ: inv, param: "id", code: ""},
	// Headers and routes.
	{name: "headers/100 KiB", path: "/uploads", header: http.Header{"X-Padding": {repeatString("pad", 100<<10)}}, body: createWith(`,"bytes":3`), status: 431, notEnvelope: true},
	{name: "headers/many small ones", path: "/uploads", header: manyHeaders(5000), body: createWith(`,"bytes":3`), status: 431, notEnvelope: true},
	{name: "route/unknown operation", path: "/uploads/{pending}/explode", status: 404, typ: inv},
	{name: "route/wrong method", method: "DELETE", path: "/uploads/{pending}", status: 404, typ: inv},
	{name: "route/GET complete", method: "GET", path: "/uploads/{pending}/complete", status: 404, typ: inv},
	// The API's root without its slash: an envelope, never ServeMux's redirect to /v1/.
	{name: "route/POST /v1", path: "", body: createWith(`,"bytes":3`), status: 404, typ: inv},
	{name: "route/GET /v1", method: "GET", path: "", auth: "-", status: 404, typ: inv},
}

// formOf is a stream builder for a small multipart form.
func formOf(fields ...formField) func() (string, io.Reader, int64) {
	return func() (string, io.Reader, int64) {
		ct, body := form(fields...)
		return ct, strings.NewReader(string(body)), int64(len(body))
	}
}

func manyHeaders(n int) http.Header {
	h := http.Header{}
	for i := range n {
		h.Set("X-H"+strings.Repeat("a", i%7)+string(rune('a'+i%26))+string(rune('a'+i/26%26))+string(rune('a'+i/676%26)), "0123456789")
	}
	return h
}

// TestHostileRequests sends each hostile request to a server on the real store and checks the
// answer (status and envelope) and that the store is exactly as it was before.
func TestHostileRequests(t *testing.T) {
	if n := len(hostileRequests); n < 60 {
		t.Fatalf("%d hostile requests; the table must hold at least 60", n)
	}
	ts := startServer(t, withStorageLimits(tableMaxUpload, tableQuota))
	fx := makeFixtures(t, ts)
	in := openInspector(t, ts.dir)
	in.checkInvariants(t, true)

	for _, h := range hostileRequests {
		t.Run(h.name, func(t *testing.T) {
			before := in.snapshot(t)
			r := send(t, h.request(ts.URL, fx))
			ts.waitIdle(t)
			h.message = fx.expand(h.message)
			checkAnswer(t, h, r)
			if h.accepted != nil {
				if r.Status == statusOK {
					h.accepted(t, in, r)
				}
			} else if d := before.diff(in.snapshot(t)); d != "" {
				t.Errorf("the store changed:%s", d)
			}
			in.checkInvariants(t, true)
		})
	}

	// The fixtures still work after all that: the pending upload completes with its two parts.
	r := postJSON(t, ts.URL+"/uploads/"+fx.pending+"/complete", keyA,
		map[string]any{"part_ids": []string{fx.p1, fx.p2}, "md5": "fc5e038d38a57032085441e7fe7010b0"})
	if r.Status != statusOK {
		t.Errorf("completing the pending fixture after the table: %d %s", r.Status, r.Body)
	}
	in.checkInvariants(t, true)
}

// request builds the http request of h against the API at base.
func (h hostile) request(base string, fx *fixtures) rawRequest {
	req := rawRequest{method: h.method, url: base + fx.expand(h.path), header: http.Header{}}
	if req.method == "" {
		req.method = "POST"
	}
	for k, vs := range h.header {
		req.header[k] = vs
	}
	switch h.auth {
	case "":
		req.header.Set("Authorization", "Bearer "+keyA)
	case "-":
	default:
		req.header.Set("Authorization", h.auth)
	}
	switch {
	case h.stream != nil:
		ct, body, n := h.stream()
		req.contentType, req.body, req.length = ct, body, n
	case h.body != "" || h.ct != "":
		req.body = strings.NewReader(fx.expand(h.body))
		req.contentType = "application/json"
	}
	switch h.ct {
	case "":
	case "-":
		req.contentType = ""
	default:
		req.contentType = h.ct
	}
	return req
}

// checkAnswer checks the status and the envelope of the answer to h.
func checkAnswer(t *testing.T, h hostile, r reply) {
	t.Helper()
	if r.Status != h.status {
		t.Fatalf("status = %d, want %d; body: %s", r.Status, h.status, shorten(string(r.Body)))
	}
	if h.notEnvelope || h.status == statusOK {
		return
	}
	e, err := r.envelope()
	if err != nil {
		t.Fatalf("%v: %s", err, shorten(string(r.Body)))
	}
	slices.Sort(e.keys)
	if !slices.Equal(e.keys, []string{"code", "message", "param", "type"}) {
		t.Errorf("error keys = %v, want code, message, param, type", e.keys)
	}
	if e.Message == "" {
		t.Errorf("error.message is empty")
	}
	if e.Type != h.typ || e.Param != h.param || e.Code != h.code {
		t.Errorf("error (type, param, code) = (%q, %q, %q), want (%q, %q, %q); message: %s",
			e.Type, e.Param, e.Code, h.typ, h.param, h.code, shorten(e.Message))
	}
	if h.message != "" && e.Message != h.message {
		t.Errorf("error.message = %q, want %q", shorten(e.Message), h.message)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
}

// filenameKept checks that an upload created with a strange name kept it exactly, as data.
func filenameKept(name string) func(t *testing.T, in *inspector, r reply) {
	return func(t *testing.T, in *inspector, r reply) {
		t.Helper()
		got := decodeOK[struct {
			ID       string `json:"id"`
			Filename string `json:"filename"`
		}](t, r)
		if got.Filename != name {
			t.Errorf("answer's filename = %q, want %q", shorten(got.Filename), shorten(name))
		}
		stored := in.strings(t, `SELECT filename FROM uploads WHERE id = ?`, got.ID)
		if len(stored) != 1 || stored[0] != name {
			t.Errorf("stored filename = %q, want %q", stored, shorten(name))
		}
	}
}

// partStoredUnderItsID checks that a part sent with a path as its file name was stored under its
// own id, inside the store.
func partStoredUnderItsID(t *testing.T, in *inspector, r reply) {
	t.Helper()
	got := decodeOK[struct {
		ID       string `json:"id"`
		UploadID string `json:"upload_id"`
	}](t, r)
	files := in.partFiles(t)
	if _, ok := files[got.UploadID+"/"+got.ID]; !ok {
		t.Errorf("part %s is not stored as parts/%s/%s: %v", got.ID, got.UploadID, got.ID, files)
	}
	for rel := range files {
		if strings.Contains(rel, "..") || strings.Contains(rel, "uploads.db") {
			t.Errorf("a file was written under a name taken from the request: %s", rel)
		}
	}
}

// partHolds checks that an accepted part holds exactly data.
func partHolds(data string) func(t *testing.T, in *inspector, r reply) {
	return func(t *testing.T, in *inspector, r reply) {
		t.Helper()
		got := decodeOK[struct {
			ID       string `json:"id"`
			UploadID string `json:"upload_id"`
		}](t, r)
		b, err := os.ReadFile(filepath.Join(in.dir, "parts", got.UploadID, got.ID))
		if err != nil || string(b) != data {
			t.Errorf("part %s holds %q (%v), want %q", got.ID, b, err, data)
		}
	}
}
