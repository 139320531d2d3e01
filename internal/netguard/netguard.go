// Package netguard keeps the server's own outgoing HTTP requests (webhooks, HTTP camera sources) away from the
// networks an API client should not reach through it: loopback, private (RFC 1918, IPv6 unique local),
// link-local (169.254.0.0/16, where cloud metadata services answer, and fe80::/10), carrier-grade NAT
// (100.64.0.0/10), unspecified, broadcast and multicast addresses, IPv4-mapped IPv6 forms of all of them
// included.
//
// The check is made when a connection is dialled ([Dialer]'s Control function sees the address actually
// connected to), so a name that resolves to such an address, or that resolves differently by the time the
// connection is made (DNS rebinding), is refused too. [CheckURL] makes the same check early, when a URL is
// configured, so the user learns at once; it is advice, the dial-time check is the guard. A deployment whose
// cameras or webhook receivers are on its own network allows private networks (serve --allow-private-networks),
// which turns both checks off.
//
// Guarded clients do not use a proxy from the environment (HTTP_PROXY): the check would then see the proxy's
// address instead of the destination's. Redirects are followed only to the same scheme and host
// ([SameOrigin]).
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"

	"github.com/facegate/facegate"
)

// ErrBlocked is wrapped by the errors of refused destinations.
var ErrBlocked = errors.New("netguard: destination not allowed")

// ErrRedirect is wrapped by the error of a redirect to another scheme or host.
var ErrRedirect = errors.New("netguard: redirect to another origin")

// dialTimeout bounds the connection of a guarded dialer; lookupTimeout bounds CheckURL's resolution.
const (
	dialTimeout   = 10 * time.Second
	lookupTimeout = 3 * time.Second
)

// extra are blocked ranges the netip predicates do not cover.
var extra = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),          // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),      // carrier-grade NAT, shared address space
	netip.MustParsePrefix("192.0.0.0/24"),       // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"),      // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),        // reserved, broadcast included
	netip.MustParsePrefix("fec0::/10"),          // deprecated site-local
	netip.MustParsePrefix("64:ff9b::/96"),       // NAT64: reaches IPv4 addresses through a gateway
	netip.MustParsePrefix("64:ff9b:1::/48"),     // local-use NAT64
	netip.MustParsePrefix("2002::/16"),          // 6to4: embeds an IPv4 address
	netip.MustParsePrefix("2001::/32"),          // Teredo
	netip.MustParsePrefix("::ffff:0:0:0/96"),    // SIIT IPv4-translated
	netip.MustParsePrefix("100::/64"),           // discard-only
	netip.MustParsePrefix("2001:db8::/32"),      // documentation
	netip.MustParsePrefix("::/128"),             // unspecified (also IsUnspecified)
	netip.MustParsePrefix("255.255.255.255/32"), // broadcast (in 240/4 too)
}

// Blocked reports whether ip is an address outgoing requests must not reach without --allow-private-networks.
func Blocked(ip netip.Addr) bool {
	ip = ip.Unmap() // ::ffff:127.0.0.1 is 127.0.0.1
	if !ip.IsValid() || ip.Zone() != "" {
		return true
	}
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsUnspecified() || ip.IsLinkLocalUnicast() ||
		ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() || ip.IsMulticast() {
		return true
	}
	for _, p := range extra {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// refusal is the error for a blocked address; what names the destination as the user gave it.
func refusal(what string, ip netip.Addr) error {
	return fmt.Errorf("%w: %s: %w", ErrBlocked, ip.Unmap(), facegate.Userf(nil,
		"%s leads to a loopback, private, link-local or otherwise internal address, which this server does not connect to (serve --allow-private-networks allows it)",
		what))
}

// Control is a net.Dialer Control function that refuses blocked addresses; with allowPrivate it is nil (no
// check).
func Control(allowPrivate bool) func(network, address string, c syscall.RawConn) error {
	if allowPrivate {
		return nil
	}
	return func(network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%w: unparsable address %q", ErrBlocked, address)
		}
		if Blocked(ap.Addr()) {
			return refusal("the URL's host", ap.Addr())
		}
		return nil
	}
}

// Dialer returns a dialer that applies Control(allowPrivate) to every connection it makes.
func Dialer(allowPrivate bool) *net.Dialer {
	return &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second, Control: Control(allowPrivate)}
}

// Transport returns an HTTP transport that dials with Dialer(allowPrivate) and uses no proxy.
func Transport(allowPrivate bool) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.DialContext = Dialer(allowPrivate).DialContext
	return t
}

// SameOrigin is an http.Client CheckRedirect function that follows at most 5 redirects, and only to the same
// scheme and host (port included) as the original request.
func SameOrigin(req *http.Request, via []*http.Request) error {
	first := via[0].URL
	if req.URL.Scheme != first.Scheme || req.URL.Host != first.Host {
		return fmt.Errorf("%w: %s", ErrRedirect, facegate.Userf(nil,
			"the server at %s redirects to %s://%s; redirects to another scheme or host are not followed (give the final URL)",
			first.Host, req.URL.Scheme, req.URL.Host))
	}
	if len(via) >= 5 {
		return errors.New("netguard: more than 5 redirects")
	}
	return nil
}

// CheckURL checks, when a URL is configured, that its host is not a blocked address and does not resolve to
// one (with allowPrivate it checks nothing). A name that cannot be resolved now passes: the connection will
// fail, or be checked, when it is made. what names the URL in the message ("the webhook URL").
func CheckURL(ctx context.Context, raw, what string, allowPrivate bool) error {
	if allowPrivate {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil // the caller reports malformed URLs
	}
	host := u.Hostname()
	if ip, err := netip.ParseAddr(host); err == nil {
		if Blocked(ip) {
			return refusal(what, ip)
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil
	}
	for _, ip := range ips {
		if Blocked(ip) {
			return refusal(what, ip)
		}
	}
	return nil
}
