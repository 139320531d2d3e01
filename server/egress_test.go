package server_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/api"
	"github.com/facegate/facegate/server"
)

// Attacks through what a stream makes the server read or connect to, by a holder of a key that may configure
// streams: the server's own files, other protocols, and internal network addresses (the server's loopback,
// its private network, the cloud metadata service).

// TestAttackStreamFileProbe: with --stream-dirs set to one folder, stream sources naming /etc/passwd
// (readable), /etc/shadow (unreadable), a missing file, a file outside the folder, the folder itself and a
// "../" escape all get the same 400 bad_source sentence, so the key holder learns nothing about the server's
// files; nothing is stored. A file inside the folder is accepted. A server without --stream-dirs refuses even
// that, with the same sentence.
func TestAttackStreamFileProbe(t *testing.T) {
	needFFmpeg(t)
	dir, outside := t.TempDir(), t.TempDir()
	for _, p := range []string{filepath.Join(dir, "door.mp4"), filepath.Join(outside, "other.mp4")} {
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	e := newEnv(t, server.Config{StreamDirs: []string{dir}})
	sources := []string{"/etc/passwd", "file:///etc/passwd", "/etc/shadow", filepath.Join(dir, "missing.mp4"), "/nonexistent/clip.mp4",
		filepath.Join(outside, "other.mp4"), dir, dir + "/../" + filepath.Base(outside) + "/other.mp4", "concat:/etc/passwd|/etc/hosts"}
	var first string
	for _, src := range sources {
		var out apiErr
		if code := e.json("POST", "/v1/streams", e.admin, api.StreamRequest{Name: "probe", Source: src}, &out); code != 400 || out.Error.Code != api.CodeBadSource {
			t.Fatalf("%s: %d %q", src, code, out.Error.Code)
		}
		msg := strings.Replace(out.Error.Message, src, "SOURCE", 1)
		if first == "" {
			first = msg
			t.Logf("the answer: %s", out.Error.Message)
		}
		if msg != first {
			t.Errorf("%s: message %q differs from %q", src, msg, first)
		}
	}
	if n := count(t, e.store, "streams"); n != 0 {
		t.Fatalf("%d streams stored", n)
	}
	info, err := e.client(e.admin).CreateStream(t.Context(), api.StreamRequest{Name: "door", Source: filepath.Join(dir, "door.mp4")})
	if err != nil {
		t.Fatalf("a file inside --stream-dirs: %v", err)
	}
	if err := e.client(e.admin).DeleteStream(t.Context(), info.ID); err != nil {
		t.Fatal(err)
	}

	none := newEnv(t, server.Config{})
	var out apiErr
	src := filepath.Join(dir, "door.mp4")
	if code := none.json("POST", "/v1/streams", none.admin, api.StreamRequest{Name: "door", Source: src}, &out); code != 400 ||
		strings.Replace(out.Error.Message, src, "SOURCE", 1) != first {
		t.Fatalf("without --stream-dirs: %d %+v", code, out.Error)
	}
}

// TestAttackStreamSchemes: protocols ffmpeg knows but a stream must not use are refused before ffmpeg runs.
func TestAttackStreamSchemes(t *testing.T) {
	e := newEnv(t, server.Config{StreamDirs: []string{"/"}, AllowPrivateNetworks: true})
	for _, src := range []string{"gopher://127.0.0.1:70/_x", "concat://a|b", "subfile://x", "ftp://cam/1", "tcp://127.0.0.1:22", "data://x"} {
		var out apiErr
		if code := e.json("POST", "/v1/streams", e.admin, api.StreamRequest{Name: "s", Source: src}, &out); code != 400 ||
			out.Error.Code != api.CodeBadSource || !strings.Contains(out.Error.Message, "unsupported scheme") {
			t.Errorf("%s: %d %+v", src, code, out.Error)
		}
	}
}

// TestAttackInternalAddresses: webhooks and HTTP sources aimed at the loopback (address, IPv6, IPv4-mapped IPv6,
// the name "localhost"), the cloud metadata address and a private address are refused with a 400 that says how
// a deployment allows them; nothing is stored. With --allow-private-networks the same requests are accepted.
func TestAttackInternalAddresses(t *testing.T) {
	needFFmpeg(t)
	targets := []string{"http://127.0.0.1:9/x", "http://[::1]:9/x", "http://[::ffff:127.0.0.1]:9/x", "http://localhost:9/x",
		"http://169.254.169.254/latest/meta-data/", "https://10.0.0.1/x", "http://192.168.1.1/x"}
	strict := newEnv(t, server.Config{})
	open := newEnv(t, server.Config{AllowPrivateNetworks: true})
	for _, u := range targets {
		hook := api.StreamRequest{Name: "hook", Source: "rtsp://cam.example/s", Webhook: &facegate.Webhook{URL: u}}
		src := api.StreamRequest{Name: "src", Source: u}
		var out apiErr
		if code := strict.json("POST", "/v1/streams", strict.admin, hook, &out); code != 400 || out.Error.Code != api.CodeBadRequest ||
			!strings.Contains(out.Error.Message, "--allow-private-networks") {
			t.Errorf("webhook %s: %d %+v", u, code, out.Error)
		}
		out = apiErr{}
		if code := strict.json("POST", "/v1/streams", strict.admin, src, &out); code != 400 || out.Error.Code != api.CodeBadSource ||
			!strings.Contains(out.Error.Message, "--allow-private-networks") {
			t.Errorf("source %s: %d %+v", u, code, out.Error)
		}
		for _, req := range []api.StreamRequest{hook, src} {
			info, err := open.client(open.admin).CreateStream(t.Context(), req)
			if err != nil {
				t.Errorf("%s with private networks allowed: %v", u, err)
				continue
			}
			if err := open.client(open.admin).DeleteStream(t.Context(), info.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := count(t, strict.store, "streams"); n != 0 {
		t.Fatalf("%d streams stored", n)
	}
}
