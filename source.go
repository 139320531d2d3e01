package facegate

import (
	"net/url"
	"strings"
)

// SecretMask stands for a credential in what facegate shows of a stream source: rtsp://user:***@host/path.
const SecretMask = "***"

// secretParams are the query parameters of a source URL whose values are credentials (compared in lower case).
var secretParams = map[string]bool{"password": true, "passwd": true, "pass": true, "pwd": true, "token": true,
	"access_token": true, "auth": true, "key": true, "apikey": true, "api_key": true, "secret": true,
	"sig": true, "signature": true}

// IsCredentialParam reports whether a source URL's query parameter of this name holds a credential, so that
// its value is masked wherever the source is shown.
func IsCredentialParam(name string) bool { return secretParams[strings.ToLower(name)] }

// MaskSource is a stream source as facegate shows it (API responses, the console, logs): the password of a
// URL's user information and the values of credential query parameters (password, token, key, …) replaced by
// SecretMask. A source that is not a URL with credentials (a file, a device, a URL without them) is returned
// as it is.
func MaskSource(src string) string {
	u, ok := sourceURL(src)
	if !ok {
		return maskUnparsed(src)
	}
	changed := false
	if p, has := u.User.Password(); has && p != SecretMask { // masked already: shown as it is
		u.User = url.UserPassword(u.User.Username(), SecretMask)
		changed = true
	}
	if q, ok := maskQuery(u.RawQuery, nil); ok {
		u.RawQuery, changed = q, true
	}
	if !changed {
		return src
	}
	// url.URL.String escapes the mask's '*' in the user information; show it as typed.
	return strings.Replace(u.String(), ":"+url.PathEscape(SecretMask)+"@", ":"+SecretMask+"@", 1)
}

// HasCredentials reports whether MaskSource hides something of src.
func HasCredentials(src string) bool { return MaskSource(src) != src }

// RestoreSource is the source to store when a client sends sent to replace stored: a client never sees the
// stored credentials (MaskSource), so where sent still carries SecretMask in their place the stored ones are
// kept. That holds only for the same scheme, user and host: sending the mask with another host does not
// forward the stored password there. Anything else is returned as sent.
func RestoreSource(sent, stored string) string {
	s, ok := sourceURL(sent)
	if !ok || !strings.Contains(sent, SecretMask) {
		return sent
	}
	old, ok := sourceURL(stored)
	if !ok || s.Scheme != old.Scheme || s.Host != old.Host || s.User.Username() != old.User.Username() {
		return sent
	}
	if p, has := s.User.Password(); has && p == SecretMask {
		if op, ok := old.User.Password(); ok {
			s.User = url.UserPassword(s.User.Username(), op)
		}
	}
	if q, ok := maskQuery(s.RawQuery, old.Query()); ok {
		s.RawQuery = q
	}
	return s.String()
}

// maskUnparsed masks what looks like a password in a source that does not parse as a URL (a password with an
// unescaped '/' or '#', say): everything between "scheme://user:" and the last '@', and the values of credential
// parameters after the first '?' that follows. It masks too much rather than too little.
func maskUnparsed(src string) string {
	i := strings.Index(src, "://")
	if i < 0 {
		return src
	}
	head, rest := src[:i+3], src[i+3:]
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		if colon := strings.Index(rest[:at], ":"); colon >= 0 {
			rest = rest[:colon] + ":" + SecretMask + "@" + rest[at+1:]
		}
	}
	if q := strings.Index(rest, "?"); q >= 0 {
		if masked, ok := maskQuery(rest[q+1:], nil); ok {
			rest = rest[:q+1] + masked
		}
	}
	return head + rest
}

// sourceURL parses src when it is a URL with a host.
func sourceURL(src string) (*url.URL, bool) {
	if !strings.Contains(src, "://") {
		return nil, false
	}
	u, err := url.Parse(src)
	if err != nil || u.Host == "" {
		return nil, false
	}
	return u, true
}

// maskQuery masks the credential parameters of a raw query (restore nil), or puts back, from restore, the
// values of credential parameters sent as SecretMask. It keeps the order of the parameters; ok is false when
// nothing changed.
func maskQuery(raw string, restore url.Values) (string, bool) {
	if raw == "" {
		return raw, false
	}
	parts := strings.Split(raw, "&")
	changed := false
	for i, p := range parts {
		k, v, _ := strings.Cut(p, "=")
		name, err := url.QueryUnescape(k)
		if err != nil || !IsCredentialParam(name) {
			continue
		}
		switch {
		case restore == nil && v != "" && v != SecretMask:
			parts[i], changed = k+"="+SecretMask, true
		case restore != nil && v == SecretMask && restore.Has(name):
			parts[i], changed = k+"="+url.QueryEscape(restore.Get(name)), true
		}
	}
	return strings.Join(parts, "&"), changed
}

// MaskIn masks the credentials of src wherever they appear in text (an error message, a decoder's log line):
// the whole source, and its password and credential parameter values on their own.
func MaskIn(text, src string) string {
	masked := MaskSource(src)
	if masked == src || text == "" {
		return text
	}
	text = strings.ReplaceAll(text, src, masked)
	var secrets []string
	if u, ok := sourceURL(src); ok {
		if p, has := u.User.Password(); has {
			secrets = append(secrets, p, url.PathEscape(p), url.QueryEscape(p))
		}
		for k, vs := range u.Query() {
			if IsCredentialParam(k) {
				secrets = append(secrets, vs...)
			}
		}
	}
	for _, sec := range secrets {
		if len(sec) >= 3 && sec != SecretMask { // shorter ones would mask unrelated text without hiding much
			text = strings.ReplaceAll(text, sec, SecretMask)
		}
	}
	return text
}
