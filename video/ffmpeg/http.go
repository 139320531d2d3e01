package ffmpeg

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sync"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/internal/netguard"
)

// HTTP sources are fetched by Go and piped to ffmpeg's standard input, so that ffmpeg itself opens no network
// connection for them (its protocol whitelist is "pipe"): every connection goes through netguard's dial-time
// check, redirects are followed only to the same scheme and host, and TLS certificates are verified. The
// response's Content-Type says whether the body is MJPEG (multipart/x-mixed-replace), read with ffmpeg's mpjpeg
// demuxer; anything else is left to ffmpeg to recognise from the bytes (MPEG-TS, MJPEG without the header,
// a progressive MP4). What needs to fetch further URLs (an HLS playlist) is not supported.

// httpClient returns the client of HTTP sources: guarded dialing (unless allowPrivate), no proxy, same-origin
// redirects, and probeTimeout for the response headers (the body is endless; the stall watchdog bounds it).
func httpClient(allowPrivate bool) *http.Client {
	t := netguard.Transport(allowPrivate)
	t.ResponseHeaderTimeout = probeTimeout
	return &http.Client{Transport: t, CheckRedirect: netguard.SameOrigin}
}

// get requests the HTTP source and returns its body and whether it is MJPEG; the body ends with ctx. The error
// is a sentence for LastError (passwords masked).
func (s *Source) get(ctx context.Context) (*body, bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.input, nil)
	if err != nil {
		return nil, false, fmt.Errorf("%s: %v", redact(s.opt.Source), err)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		if msg, ok := facegate.UserMessage(err); ok {
			return nil, false, fmt.Errorf("%s: %s", redact(s.opt.Source), msg)
		}
		var ue *url.Error // `Get "URL": cause`: the URL is said once, its password masked
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, false, fmt.Errorf("%s: %s", redact(s.opt.Source), redact(err.Error()))
	}
	if resp.StatusCode/100 != 2 {
		resp.Body.Close()
		return nil, false, fmt.Errorf("%s: the server answered %s", redact(s.opt.Source), resp.Status)
	}
	return &body{rc: resp.Body}, mjpegType(resp.Header.Get("Content-Type")), nil
}

// body is an HTTP source's response body; it remembers why reading it failed (the connection was lost), unless
// it was closed first, which is how an attempt stops feeding ffmpeg.
type body struct {
	rc io.ReadCloser

	mu     sync.Mutex
	closed bool
	err    error
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		b.mu.Lock()
		if !b.closed && b.err == nil {
			b.err = err
		}
		b.mu.Unlock()
	}
	return n, err
}

// Close closes the body; later read errors are not failures of the source.
func (b *body) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	return b.rc.Close()
}

// failure returns the error that ended reading before Close, or nil.
func (b *body) failure() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// mjpegType reports whether a Content-Type is multipart/x-mixed-replace (MJPEG over HTTP).
func mjpegType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "multipart/x-mixed-replace"
}
