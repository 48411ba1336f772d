// Command uploads moves large files into the OpenAI Uploads API from a terminal: it splits a file into parts,
// sends them in parallel with a live progress bar, completes the upload, and cancels it on the server when
// interrupted. Run `uploads --help` for the commands, the environment it reads and its exit codes.
package main

import (
	"context"
	"os"

	"golang.org/x/term"
)

func main() {
	env := environment{
		stdin:       os.Stdin,
		stdout:      os.Stdout,
		stderr:      os.Stderr,
		getenv:      os.Getenv,
		stderrIsTTY: canDrawOn(os.Stderr),
		stdoutIsTTY: term.IsTerminal(int(os.Stdout.Fd())),
		width:       terminalWidth(os.Stderr),
		pending:     &pending{},
	}
	ctx, stop := watchInterrupts(context.Background(), notifyInterrupts(), env.stderr, env.stderrIsTTY, env.pending, os.Exit)
	code := run(ctx, os.Args[1:], env)
	stop()
	os.Exit(code)
}
