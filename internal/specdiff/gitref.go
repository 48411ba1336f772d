package specdiff

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// BaseRef returns the git ref the spec is compared with when none is given: the newest tag
// named v* (by version order), or else the first commit that added specPath. It fails in a
// shallow clone, whose history may lack both, rather than compare the spec with itself.
func BaseRef(ctx context.Context, repoDir, specPath string) (string, error) {
	shallow, err := git(ctx, repoDir, "rev-parse", "--is-shallow-repository")
	if err != nil {
		return "", fmt.Errorf("inspect the repository: %w", err)
	}
	if strings.TrimSpace(shallow) == "true" {
		return "", errShallow
	}
	tags, err := git(ctx, repoDir, "tag", "--list", "v*", "--sort=-version:refname")
	if err != nil {
		return "", fmt.Errorf("list v* tags: %w", err)
	}
	if newest, _, _ := strings.Cut(strings.TrimSpace(tags), "\n"); newest != "" {
		return newest, nil
	}
	commits, err := git(ctx, repoDir, "log", "--diff-filter=A", "--format=%H", "--reverse", "--", specPath)
	if err != nil {
		return "", fmt.Errorf("find the commit that added %s: %w", specPath, err)
	}
	first, _, _ := strings.Cut(strings.TrimSpace(commits), "\n")
	if first == "" {
		return "", fmt.Errorf("find the commit that added %s: no v* tag and no commit has it", specPath)
	}
	return first, nil
}

// errShallow is returned by BaseRef in a shallow clone.
var errShallow = errors.New("the clone is shallow, so its history may lack the tags and the commit that added the spec: " +
	"run `git fetch --unshallow --tags` (or check out with full history), or give the ref to compare with")

// ShowFile returns the content of specPath (relative to the repository root) at ref.
func ShowFile(ctx context.Context, repoDir, ref, specPath string) ([]byte, error) {
	out, err := git(ctx, repoDir, "show", ref+":"+specPath)
	if err != nil {
		return nil, fmt.Errorf("read %s at %s: %w", specPath, ref, err)
	}
	return []byte(out), nil
}

// git runs one git command in dir and returns its standard output; on failure the error
// carries git's own message.
func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, msg)
		}
		return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
	}
	return stdout.String(), nil
}
