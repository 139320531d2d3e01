package netguard

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"testing"

	"github.com/facegate/facegate"
)

func TestBlocked(t *testing.T) {
	for _, tt := range []struct {
		addr    string
		blocked bool
	}{
		{"127.0.0.1", true}, {"127.8.9.10", true}, {"::1", true}, {"::ffff:127.0.0.1", true},
		{"10.1.2.3", true}, {"172.16.0.1", true}, {"192.168.1.1", true}, {"::ffff:10.0.0.1", true}, {"fd00::1", true},
		{"169.254.169.254", true}, {"fe80::1", true}, {"0.0.0.0", true}, {"::", true}, {"0.1.2.3", true},
		{"100.64.0.1", true}, {"224.0.0.1", true}, {"239.1.1.1", true}, {"ff02::1", true}, {"255.255.255.255", true},
		{"64:ff9b::a00:1", true}, {"2002:a00:1::1", true}, {"fec0::1", true},
		{"8.8.8.8", false}, {"1.1.1.1", false}, {"93.184.216.34", false}, {"2606:4700:4700::1111", false}, {"::ffff:8.8.8.8", false},
	} {
		if got := Blocked(netip.MustParseAddr(tt.addr)); got != tt.blocked {
			t.Errorf("Blocked(%s) = %v, want %v", tt.addr, got, tt.blocked)
		}
	}
}

func TestControl(t *testing.T) {
	if Control(true) != nil {
		t.Error("Control(true) checks")
	}
	c := Control(false)
	for addr, blocked := range map[string]bool{"127.0.0.1:80": true, "[::1]:443": true, "[::ffff:169.254.169.254]:80": true, "8.8.8.8:53": false, "nonsense": true} {
		err := c("tcp", addr, nil)
		if (err != nil) != blocked || err != nil && !errors.Is(err, ErrBlocked) {
			t.Errorf("Control(%s) = %v, blocked want %v", addr, err, blocked)
		}
	}
}

func TestCheckURL(t *testing.T) {
	ctx := context.Background()
	for _, u := range []string{"http://127.0.0.1/x", "http://[::1]:8080/", "http://169.254.169.254/latest/meta-data/", "https://10.0.0.7/hook", "http://localhost:9/"} {
		err := CheckURL(ctx, u, "the webhook URL", false)
		if msg, ok := facegate.UserMessage(err); !ok || !errors.Is(err, ErrBlocked) {
			t.Errorf("CheckURL(%s) = %v", u, err)
		} else if want := "the webhook URL leads to a loopback"; msg[:len(want)] != want {
			t.Errorf("CheckURL(%s) says %q", u, msg)
		}
		if err := CheckURL(ctx, u, "the webhook URL", true); err != nil {
			t.Errorf("CheckURL(%s) with private networks allowed: %v", u, err)
		}
	}
	for _, u := range []string{"https://8.8.8.8/hook", "http://name.invalid/hook"} {
		if err := CheckURL(ctx, u, "the webhook URL", false); err != nil {
			t.Errorf("CheckURL(%s) = %v", u, err)
		}
	}
}

func TestSameOrigin(t *testing.T) {
	req := func(s string) *http.Request { u, _ := url.Parse(s); return &http.Request{URL: u} }
	via := []*http.Request{req("http://cam:8080/a")}
	if err := SameOrigin(req("http://cam:8080/b"), via); err != nil {
		t.Errorf("same origin refused: %v", err)
	}
	for _, to := range []string{"http://other:8080/b", "http://cam:8081/b", "https://cam:8080/b", "file:///etc/passwd", "gopher://cam:8080/"} {
		if err := SameOrigin(req(to), via); !errors.Is(err, ErrRedirect) {
			t.Errorf("redirect to %s: %v", to, err)
		}
	}
}
