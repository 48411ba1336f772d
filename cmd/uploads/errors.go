package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/uploadkit/uploads"
)

// Exit codes, documented in `uploads --help`.
const (
	exitOK          = 0
	exitFailure     = 1 // an API error or an I/O error
	exitUsage       = 2 // the command line was wrong
	exitInterrupted = 130
)

// usageError is a mistake on the command line: a missing or malformed flag or argument.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// usagef returns a usageError with a formatted message.
func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// exitCode maps the outcome of a command to the process's exit code. ran says whether the command's own code
// ran; an error that cobra returned before that (unknown command or flag, wrong number of arguments, a missing
// required flag) is a usage error, and so is an argument the client refused before sending anything.
func exitCode(ctx context.Context, err error, ran bool) int {
	var (
		usage   *usageError
		invalid *uploads.InvalidParamError
	)
	switch {
	case err == nil:
		return exitOK
	case !ran || errors.As(err, &usage) || errors.As(err, &invalid):
		return exitUsage
	case interrupted(ctx) || errors.Is(err, errInterrupted):
		return exitInterrupted
	default:
		return exitFailure
	}
}

// printError writes err as one line on w. An API error reads
// `error: <message> (status N, type T, code C, param P, request id R)`, with the parts the server did not send
// left out, and keeps what the command was doing in front of the message.
func printError(w io.Writer, err error) {
	fmt.Fprintf(w, "error: %s\n", oneLine(describeError(err)))
}

// describeError is the text printError shows for err.
func describeError(err error) string {
	var apiErr *uploads.APIError
	if !errors.As(err, &apiErr) {
		return err.Error()
	}
	message := apiErr.Message
	if message == "" {
		message = http.StatusText(apiErr.StatusCode)
	}
	if apiErr.Operation != "" {
		message = apiErr.Operation + ": " + message
	}
	// Keep what the command wrapped around the API error ("upload big.jsonl: …").
	text, inner := err.Error(), apiErr.Error()
	if i := strings.Index(text, inner); i >= 0 {
		message = text[:i] + message + text[i+len(inner):]
	}
	return message + " (" + strings.Join(apiErrorDetails(apiErr), ", ") + ")"
}

// apiErrorDetails lists the facts of an API error that help a person or a support ticket.
func apiErrorDetails(e *uploads.APIError) []string {
	details := []string{fmt.Sprintf("status %d", e.StatusCode)}
	if e.Type != "" {
		details = append(details, "type "+e.Type)
	}
	if e.Code != "" {
		details = append(details, "code "+e.Code)
	}
	if e.Param != "" {
		details = append(details, "param "+e.Param)
	}
	if e.RequestID != "" {
		details = append(details, "request id "+e.RequestID)
	}
	return details
}

// oneLine folds a message onto one line, so that an error never spreads over several.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
