package server

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"sync"
	"time"
)

// metrics is a small Prometheus text-format registry: labelled counters, gauges and histograms.
type metrics struct {
	mu       sync.Mutex
	counters map[string]map[string]float64 // name -> rendered labels -> value
	gauges   map[string]func() map[string]float64
	hists    map[string]map[string]*histogram
	help     map[string]string
}

type histogram struct {
	buckets []float64
	counts  []uint64
	sum     float64
	count   uint64
}

var latencyBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

func newMetrics() *metrics {
	return &metrics{
		counters: map[string]map[string]float64{},
		gauges:   map[string]func() map[string]float64{},
		hists:    map[string]map[string]*histogram{},
		help:     map[string]string{},
	}
}

func labels(kv ...string) string {
	var parts []string
	for i := 0; i+1 < len(kv); i += 2 {
		v := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(kv[i+1])
		parts = append(parts, fmt.Sprintf(`%s="%s"`, kv[i], v))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func (m *metrics) inc(name, help string, kv ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.help[name] = help
	if m.counters[name] == nil {
		m.counters[name] = map[string]float64{}
	}
	m.counters[name][labels(kv...)]++
}

func (m *metrics) add(name, help string, v float64, kv ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.help[name] = help
	if m.counters[name] == nil {
		m.counters[name] = map[string]float64{}
	}
	m.counters[name][labels(kv...)] += v
}

func (m *metrics) observe(name, help string, d time.Duration, kv ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.help[name] = help
	if m.hists[name] == nil {
		m.hists[name] = map[string]*histogram{}
	}
	l := labels(kv...)
	h := m.hists[name][l]
	if h == nil {
		h = &histogram{buckets: latencyBuckets, counts: make([]uint64, len(latencyBuckets))}
		m.hists[name][l] = h
	}
	v := d.Seconds()
	for i, b := range h.buckets {
		if v <= b {
			h.counts[i]++
		}
	}
	h.sum += v
	h.count++
}

// gauge registers a function evaluated at scrape time, returning values by rendered label set.
func (m *metrics) gauge(name, help string, fn func() map[string]float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.help[name] = help
	m.gauges[name] = fn
}

func (m *metrics) write(w io.Writer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	names := func(mm map[string]string, keep func(string) bool) []string {
		var out []string
		for n := range mm {
			if keep(n) {
				out = append(out, n)
			}
		}
		sort.Strings(out)
		return out
	}
	for _, n := range names(m.help, func(n string) bool { return m.counters[n] != nil }) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s counter\n", n, m.help[n], n)
		for _, l := range sortedKeys(m.counters[n]) {
			fmt.Fprintf(w, "%s%s %g\n", n, l, m.counters[n][l])
		}
	}
	for _, n := range names(m.help, func(n string) bool { return m.gauges[n] != nil }) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s gauge\n", n, m.help[n], n)
		vals := m.gauges[n]()
		for _, l := range sortedKeys(vals) {
			fmt.Fprintf(w, "%s%s %g\n", n, l, vals[l])
		}
	}
	for _, n := range names(m.help, func(n string) bool { return m.hists[n] != nil }) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s histogram\n", n, m.help[n], n)
		for _, l := range sortedKeys(m.hists[n]) {
			h := m.hists[n][l]
			inner := strings.TrimSuffix(strings.TrimPrefix(l, "{"), "}")
			sep := ""
			if inner != "" {
				sep = ","
			}
			for i, b := range h.buckets {
				fmt.Fprintf(w, "%s_bucket{%s%sle=\"%g\"} %d\n", n, inner, sep, b, h.counts[i])
			}
			fmt.Fprintf(w, "%s_bucket{%s%sle=\"+Inf\"} %d\n", n, inner, sep, h.count)
			fmt.Fprintf(w, "%s_sum%s %g\n%s_count%s %d\n", n, l, round9(h.sum), n, l, h.count)
		}
	}
}

func round9(v float64) float64 { return math.Round(v*1e9) / 1e9 }

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
