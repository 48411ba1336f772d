package uploads

import "testing"

// TestMayHaveTakenEffect pins which statuses leave a call's effect in doubt: a 408 or any 5xx may
// come after the server or a gateway passed the request on; any other answer comes from a server
// that did not do the work.
func TestMayHaveTakenEffect(t *testing.T) {
	for status := 100; status < 600; status++ {
		want := status == 408 || status >= 500
		if got := mayHaveTakenEffect(status); got != want {
			t.Errorf("mayHaveTakenEffect(%d) = %v, want %v", status, got, want)
		}
	}
}
