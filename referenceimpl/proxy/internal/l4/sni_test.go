package l4

import "testing"

func TestMatchHostname(t *testing.T) {
	for _, tc := range []struct {
		hostnames []string
		sni       string
		want      bool
	}{
		{nil, "anything", true},
		{[]string{"a.example.com"}, "A.example.com", true},
		{[]string{"a.example.com"}, "b.example.com", false},
		{[]string{"*.example.com"}, "b.example.com", true},
		{[]string{"*.example.com"}, "x.b.example.com", true},
		{[]string{"*.example.com"}, "example.com", false},
		{[]string{"*.example.com"}, "", false},
		{[]string{"a.example.com", "*.other.com"}, "z.other.com", true},
	} {
		if got := MatchHostname(tc.hostnames, tc.sni); got != tc.want {
			t.Errorf("MatchHostname(%v, %q) = %v, want %v", tc.hostnames, tc.sni, got, tc.want)
		}
	}
}
