package index

// Dot-product kernels. Every kernel has a portable pure-Go version (the *Go functions below, always
// compiled so the tests can compare against them) and, on amd64 with AVX2 (int8) or AVX2+FMA
// (float32), an assembly version selected at start-up by a CPUID check (kernels_amd64.go).
//
// Length contract:
//   - dotI8 and dotF32 accept any length (the assembly handles the multiple-of-16 / multiple-of-8
//     body, the remainder is finished in Go or in scalar assembly).
//   - dotsI8 (batched) requires dim to be a positive multiple of 16; the index pads every int8 row to
//     a multiple of 64 bytes, so this always holds for the index's own use.

// dotI8Go returns sum(a[i]*b[i]) over int8 values, accumulated exactly in int32.
// len(a) must equal len(b); |result| <= len*16384, so it cannot overflow for len < 131072.
func dotI8Go(a, b []int8) int32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 int32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += int32(a[i]) * int32(b[i])
		s1 += int32(a[i+1]) * int32(b[i+1])
		s2 += int32(a[i+2]) * int32(b[i+2])
		s3 += int32(a[i+3]) * int32(b[i+3])
	}
	for ; i < len(a); i++ {
		s0 += int32(a[i]) * int32(b[i])
	}
	return s0 + s1 + s2 + s3
}

// dotsI8Go scores count consecutive int8 vectors of length dim stored in x (row r at x[r*dim:]) against
// the query q (already widened to int16, len(q) >= dim) and writes the int32 dot products to out[:count].
func dotsI8Go(q []int16, x []int8, dim, count int, out []int32) {
	q = q[:dim]
	out = out[:count]
	for r := range out {
		row := x[r*dim : r*dim+dim]
		var s0, s1 int32
		for i := 0; i+2 <= dim; i += 2 {
			s0 += int32(q[i]) * int32(row[i])
			s1 += int32(q[i+1]) * int32(row[i+1])
		}
		if dim&1 != 0 {
			s0 += int32(q[dim-1]) * int32(row[dim-1])
		}
		out[r] = s0 + s1
	}
}

// dotF32Go returns the float32 dot product of a and b (len(b) >= len(a)).
func dotF32Go(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// Kernel entry points used by the index; bound to the fastest implementation in init
// (kernels_amd64.go / kernels_other.go).
var (
	dotI8  = dotI8Go
	dotsI8 = dotsI8Go
	dotF32 = dotF32Go
)
