package uploads

import "net/http"

// Response is the raw answer to a call, for what this version of the package does not model:
// fields the API added later, headers. Pass CaptureResponse to a call to get it.
type Response struct {
	// StatusCode is the HTTP status of the final attempt.
	StatusCode int
	// Header holds the response headers.
	Header http.Header
	// Body is the raw JSON body; nil for DownloadFile, whose body is the returned reader.
	Body []byte
	// AnswerLost is true when the call succeeded through an earlier attempt whose answer was lost,
	// as Cancel can: StatusCode, Header and Body are then those of the final attempt, the API's
	// refusal to do again what was done.
	AnswerLost bool
}

// RequestID is the x-request-id header of the response.
func (r *Response) RequestID() string { return r.Header.Get("x-request-id") }

// CallOption changes one call.
type CallOption func(*callConfig)

type callConfig struct {
	response *Response
}

// CaptureResponse stores the raw answer of a successful call in dst, so that fields this version
// does not know can still be read:
//
//	var raw uploads.Response
//	up, err := client.Cancel(ctx, id, uploads.CaptureResponse(&raw))
//	// json.Unmarshal(raw.Body, &myStruct)
func CaptureResponse(dst *Response) CallOption {
	return func(c *callConfig) { c.response = dst }
}

func applyCallOptions(opts []CallOption) callConfig {
	var cc callConfig
	for _, o := range opts {
		if o != nil {
			o(&cc)
		}
	}
	return cc
}
