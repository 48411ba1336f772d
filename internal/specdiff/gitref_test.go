package specdiff

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// newRepo makes a git repository in a temporary directory.
func newRepo(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	dir := t.TempDir()
	run(t, dir, "init", "-q", "-b", "main")
	return dir
}

// commitFile writes content to name and commits it, returning the commit id.
func commitFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, dir, "add", name)
	run(t, dir, "commit", "-q", "-m", "change "+name)
	return strings.TrimSpace(run(t, dir, "rev-parse", "HEAD"))
}

func run(t *testing.T, dir string, args ...string) string {
	t.Helper()
	base := []string{"-c", "user.name=test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"}
	out, err := git(context.Background(), dir, append(base, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestBaseRef(t *testing.T) {
	ctx := context.Background()
	const spec = "openapi/uploads.yaml"
	dir := newRepo(t)
	commitFile(t, dir, "README.md", "before the spec\n")

	if _, err := BaseRef(ctx, dir, spec); err == nil {
		t.Error("BaseRef with no spec in history: want an error")
	}

	added := commitFile(t, dir, spec, "version: 1\n")
	commitFile(t, dir, spec, "version: 2\n")
	if got, err := BaseRef(ctx, dir, spec); err != nil || got != added {
		t.Errorf("BaseRef without tags = %q, %v; want the commit that added the spec, %q", got, err, added)
	}

	run(t, dir, "tag", "v1.9.0")
	commitFile(t, dir, spec, "version: 3\n")
	run(t, dir, "tag", "v1.10.0")
	run(t, dir, "tag", "other-1")
	commitFile(t, dir, spec, "version: 4\n")
	if got, err := BaseRef(ctx, dir, spec); err != nil || got != "v1.10.0" {
		t.Errorf("BaseRef with tags = %q, %v; want the newest version tag v1.10.0", got, err)
	}

	for ref, want := range map[string]string{added: "version: 1\n", "v1.9.0": "version: 2\n", "v1.10.0": "version: 3\n", "HEAD": "version: 4\n"} {
		got, err := ShowFile(ctx, dir, ref, spec)
		if err != nil || string(got) != want {
			t.Errorf("ShowFile at %s = %q, %v; want %q", ref, got, err, want)
		}
	}
	if _, err := ShowFile(ctx, dir, "v9.9.9", spec); err == nil || !strings.Contains(err.Error(), "v9.9.9") {
		t.Errorf("ShowFile at an unknown ref: err = %v, want an error naming the ref", err)
	}
}

func TestBaseRefRefusesShallowClone(t *testing.T) {
	ctx := context.Background()
	const spec = "openapi/uploads.yaml"
	origin := newRepo(t)
	commitFile(t, origin, spec, "version: 1\n")
	commitFile(t, origin, spec, "version: 2\n")

	clone := filepath.Join(t.TempDir(), "clone")
	run(t, origin, "clone", "-q", "--depth=1", "file://"+origin, clone)
	if _, err := BaseRef(ctx, clone, spec); !errors.Is(err, errShallow) {
		t.Errorf("BaseRef in a shallow clone: err = %v, want %v", err, errShallow)
	}
}
