package facegate

import (
	"strings"
	"testing"
)

func TestMaskSource(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"rtsp://admin:s3cret@cam.local:554/Streaming/101", "rtsp://admin:***@cam.local:554/Streaming/101"},
		{"rtsp://admin:p%40ss@cam/x?channel=1&token=abcd", "rtsp://admin:***@cam/x?channel=1&token=***"},
		{"https://cam/mjpeg?user=a&Password=hunter22", "https://cam/mjpeg?user=a&Password=***"},
		{"rtsp://admin:pa/ss#1@cam/x", "rtsp://admin:***@cam/x"}, // does not parse: masked from ':' to the last '@'
		{"rtsp://admin@cam/x", "rtsp://admin@cam/x"},
		{"rtsp://cam/x", "rtsp://cam/x"},
		{"/var/video/door.mp4", "/var/video/door.mp4"},
		{"device:/dev/video0", "device:/dev/video0"},
	} {
		got := MaskSource(tc.src)
		if got != tc.want {
			t.Errorf("MaskSource(%q) = %q, want %q", tc.src, got, tc.want)
		}
		if HasCredentials(tc.src) != (tc.want != tc.src) {
			t.Errorf("HasCredentials(%q) = %v", tc.src, HasCredentials(tc.src))
		}
		if tc.want != tc.src && MaskSource(got) != got {
			t.Errorf("masking %q twice changes it", got)
		}
	}
}

func TestRestoreSource(t *testing.T) {
	const stored = "rtsp://admin:s3cret@cam.local:554/live?token=abcd&ch=1"
	for _, tc := range []struct{ sent, want string }{
		{MaskSource(stored), stored}, // sent back as shown: the stored credentials stay
		{"rtsp://admin:***@cam.local:554/other?token=***&ch=2", "rtsp://admin:s3cret@cam.local:554/other?token=abcd&ch=2"},
		{"rtsp://admin:new@cam.local:554/live", "rtsp://admin:new@cam.local:554/live"}, // a new password replaces it
		// The mask never carries the stored password to another host, scheme or user.
		{"rtsp://admin:***@evil.example:554/live", "rtsp://admin:***@evil.example:554/live"},
		{"rtsps://admin:***@cam.local:554/live", "rtsps://admin:***@cam.local:554/live"},
		{"rtsp://root:***@cam.local:554/live", "rtsp://root:***@cam.local:554/live"},
		{"/var/video/door.mp4", "/var/video/door.mp4"},
	} {
		if got := RestoreSource(tc.sent, stored); got != tc.want {
			t.Errorf("RestoreSource(%q) = %q, want %q", tc.sent, got, tc.want)
		}
	}
}

func TestMaskIn(t *testing.T) {
	src := "rtsp://admin:s3cret@cam/x?token=abcd"
	msg := "cannot open rtsp://admin:s3cret@cam/x?token=abcd: 401 (password s3cret, token abcd)"
	got := MaskIn(msg, src)
	if strings.Contains(got, "s3cret") || strings.Contains(got, "abcd") || !strings.Contains(got, "rtsp://admin:***@cam/x") {
		t.Fatalf("MaskIn: %q", got)
	}
	if MaskIn("file missing", "/a.mp4") != "file missing" {
		t.Fatal("MaskIn changed a message about a source without credentials")
	}
}

// FuzzMaskSource: a stream source is text an admin sends and everybody with an operator key sees masked. For any
// text: no panic; masking twice changes nothing more; and the password of a URL's user information, when it
// appears once in the source, never appears in what is shown.
func FuzzMaskSource(f *testing.F) {
	for _, s := range []string{"rtsp://admin:Sup3rS3cret@10.0.0.7:554/live?token=abc", "http://u:p@h/x?password=q&x=1",
		"/videos/clip.mp4", "device:/dev/video0", "rtsp://a:b:c@@h", "rtsp://%zz:pw@h/", "x://:@", "rtsp://user:pa@ss@host/p"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		shown := MaskSource(src)
		if again := MaskSource(shown); again != shown {
			t.Fatalf("MaskSource(%q) = %q, masked again %q", src, shown, again)
		}
		u, ok := sourceURL(src)
		if !ok {
			return
		}
		if p, has := u.User.Password(); has && len(p) >= 4 && p != SecretMask && strings.Count(src, p) == 1 && strings.Contains(shown, p) {
			t.Fatalf("MaskSource(%q) = %q shows the password %q", src, shown, p)
		}
	})
}
