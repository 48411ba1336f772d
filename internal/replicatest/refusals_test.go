package replicatest_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
)

// TestControlCharactersRefusedOnPostgres: a NUL (which PostgreSQL text cannot hold) or another
// control character in filename or mime_type is a 400 naming the field on the networked store,
// as on SQLite, never a 500.
func TestControlCharactersRefusedOnPostgres(t *testing.T) {
	r := startInProcess(t, storeConfig(t))
	for _, field := range []string{"filename", "mime_type"} {
		for _, bad := range []string{"a\x00b", "a\nb"} {
			in := map[string]any{"filename": "data.jsonl", "purpose": "user_data", "bytes": 1, "mime_type": "text/plain"}
			in[field] = bad
			if field == "mime_type" {
				in[field] = `text/plain; name="` + bad + `"`
			}
			body, _ := json.Marshal(in)
			status, resp := r.do(t, http.MethodPost, "/uploads", "application/json", bytes.NewReader(body))
			var env struct {
				Error struct {
					Param string `json:"param"`
					Code  string `json:"code"`
				} `json:"error"`
			}
			_ = json.Unmarshal(resp, &env)
			if status != http.StatusBadRequest || env.Error.Param != field || env.Error.Code != "invalid_value" {
				t.Errorf("%s %q: status %d, param %q, code %q; want 400 on %s, invalid_value: %s",
					field, bad, status, env.Error.Param, env.Error.Code, field, resp)
			}
		}
	}
}
