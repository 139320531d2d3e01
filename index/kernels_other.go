//go:build !amd64

package index

// Non-amd64 builds use the pure-Go kernels bound in kernels.go.
const (
	hasAVX2 = false
	hasFMA  = false
)
