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
