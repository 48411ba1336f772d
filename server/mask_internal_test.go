package server

import (
	"strings"
	"testing"
)

// TestMaskKey pins how much of a wrong key the 401 shows, at each boundary of its length.
func TestMaskKey(t *testing.T) {
	long := "sk-" + strings.Repeat("x", 40) + "tail" // 47 characters: more stars than the cap
	tests := []struct{ key, want string }{
		{"", ""},
		{"a", "*"},
		{"abcd", "****"},
		{"abcde", "abc**"},
		{"abcdefghijkl", "abc*********"},
		{"abcdefghijklm", "abcdefgh*jklm"},
		{"abcdefghijklmnop", "abcdefgh****mnop"},
		{long, "sk-xxxxx" + strings.Repeat("*", 32) + "tail"},
	}
	for _, tt := range tests {
		if got := maskKey(tt.key); got != tt.want {
			t.Errorf("maskKey(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
}
