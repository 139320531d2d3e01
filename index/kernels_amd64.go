//go:build amd64

package index

// Assembly kernels (kernels_amd64.s). They are only called when the CPU and the OS support them:
// hasAVX2 requires the AVX2 instruction bit (CPUID leaf 7, EBX bit 5) plus OS-enabled YMM state
// (CPUID leaf 1 ECX bits 27 OSXSAVE and 28 AVX, and XCR0 bits 1-2 via XGETBV); hasFMA additionally
// requires the FMA bit (CPUID leaf 1, ECX bit 12).

func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)

func xgetbv() (eax, edx uint32)

// dotI8AVX2 returns sum(a[i]*b[i]) for i < n; n must be a positive multiple of 16.
//
//go:noescape
func dotI8AVX2(a, b *int8, n int) int32

// dotsI8AVX2 writes to out[r] the dot product of the int16 query q[0:dim] with the int8 row
// x[r*dim : (r+1)*dim], for r < count; dim must be a positive multiple of 16, count > 0.
//
//go:noescape
func dotsI8AVX2(q *int16, x *int8, dim, count int, out *int32)

// dotF32FMA returns sum(a[i]*b[i]) for i < n (any n >= 0), using AVX2 and FMA.
//
//go:noescape
func dotF32FMA(a, b *float32, n int) float32

var hasAVX2, hasFMA = detectCPU()

func detectCPU() (avx2, fma bool) {
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return false, false
	}
	_, _, ecx1, _ := cpuid(1, 0)
	const (
		bitFMA     = 1 << 12
		bitOSXSAVE = 1 << 27
		bitAVX     = 1 << 28
	)
	if ecx1&bitOSXSAVE == 0 || ecx1&bitAVX == 0 {
		return false, false
	}
	if xcr0, _ := xgetbv(); xcr0&6 != 6 { // XMM and YMM state saved by the OS
		return false, false
	}
	_, ebx7, _, _ := cpuid(7, 0)
	avx2 = ebx7&(1<<5) != 0
	fma = avx2 && ecx1&bitFMA != 0
	return avx2, fma
}

func dotI8Asm(a, b []int8) int32 {
	n := len(a)
	b = b[:n]
	m := n &^ 15
	var s int32
	if m > 0 {
		s = dotI8AVX2(&a[0], &b[0], m)
	}
	if m < n {
		s += dotI8Go(a[m:], b[m:])
	}
	return s
}

func dotsI8Asm(q []int16, x []int8, dim, count int, out []int32) {
	if count <= 0 {
		return
	}
	if dim <= 0 || dim%16 != 0 {
		dotsI8Go(q, x, dim, count, out)
		return
	}
	_ = q[dim-1]
	_ = x[count*dim-1]
	_ = out[count-1]
	dotsI8AVX2(&q[0], &x[0], dim, count, &out[0])
}

func dotF32Asm(a, b []float32) float32 {
	n := len(a)
	if n == 0 {
		return 0
	}
	b = b[:n]
	return dotF32FMA(&a[0], &b[0], n)
}

func init() {
	if hasAVX2 {
		dotI8 = dotI8Asm
		dotsI8 = dotsI8Asm
	}
	if hasFMA {
		dotF32 = dotF32Asm
	}
}
