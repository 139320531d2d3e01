//go:build amd64

#include "textflag.h"

// func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)
TEXT ·cpuid(SB), NOSPLIT, $0-24
	MOVL eaxArg+0(FP), AX
	MOVL ecxArg+4(FP), CX
	CPUID
	MOVL AX, eax+8(FP)
	MOVL BX, ebx+12(FP)
	MOVL CX, ecx+16(FP)
	MOVL DX, edx+20(FP)
	RET

// func xgetbv() (eax, edx uint32)
TEXT ·xgetbv(SB), NOSPLIT, $0-8
	MOVL $0, CX
	XGETBV
	MOVL AX, eax+0(FP)
	MOVL DX, edx+4(FP)
	RET

// Horizontal sum of the eight int32 lanes of Y0 into AX (clobbers X1).
#define HSUM_D \
	VEXTRACTI128 $1, Y0, X1 ; \
	VPADDD       X1, X0, X0 ; \
	VPSHUFD      $0x4E, X0, X1 ; \
	VPADDD       X1, X0, X0 ; \
	VPSHUFD      $0xB1, X0, X1 ; \
	VPADDD       X1, X0, X0 ; \
	VMOVD        X0, AX

// func dotI8AVX2(a, b *int8, n int) int32
// Both operands are sign-extended int8 -> int16 (VPMOVSXBW), multiplied and pair-summed into int32
// (VPMADDWD: |a*b + c*d| <= 2*128*128 = 32768 fits in int32, so there is no saturation anywhere).
TEXT ·dotI8AVX2(SB), NOSPLIT, $0-28
	MOVQ  a+0(FP), SI
	MOVQ  b+8(FP), DI
	MOVQ  n+16(FP), CX
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3

i8loop64:
	CMPQ      CX, $64
	JLT       i8loop16
	VPMOVSXBW (SI), Y4
	VPMOVSXBW (DI), Y5
	VPMOVSXBW 16(SI), Y6
	VPMOVSXBW 16(DI), Y7
	VPMADDWD  Y5, Y4, Y4
	VPMADDWD  Y7, Y6, Y6
	VPADDD    Y4, Y0, Y0
	VPADDD    Y6, Y1, Y1
	VPMOVSXBW 32(SI), Y4
	VPMOVSXBW 32(DI), Y5
	VPMOVSXBW 48(SI), Y6
	VPMOVSXBW 48(DI), Y7
	VPMADDWD  Y5, Y4, Y4
	VPMADDWD  Y7, Y6, Y6
	VPADDD    Y4, Y2, Y2
	VPADDD    Y6, Y3, Y3
	ADDQ      $64, SI
	ADDQ      $64, DI
	SUBQ      $64, CX
	JMP       i8loop64

i8loop16:
	CMPQ      CX, $16
	JLT       i8done
	VPMOVSXBW (SI), Y4
	VPMOVSXBW (DI), Y5
	VPMADDWD  Y5, Y4, Y4
	VPADDD    Y4, Y0, Y0
	ADDQ      $16, SI
	ADDQ      $16, DI
	SUBQ      $16, CX
	JMP       i8loop16

i8done:
	VPADDD Y1, Y0, Y0
	VPADDD Y3, Y2, Y2
	VPADDD Y2, Y0, Y0
	HSUM_D
	MOVL   AX, ret+24(FP)
	VZEROUPPER
	RET

// func dotsI8AVX2(q *int16, x *int8, dim, count int, out *int32)
// Batched variant: the query is already int16, each row is sign-extended on load.
TEXT ·dotsI8AVX2(SB), NOSPLIT, $0-40
	MOVQ q+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ dim+16(FP), DX
	MOVQ count+24(FP), CX
	MOVQ out+32(FP), R8

rowloop:
	MOVQ  DI, R9
	MOVQ  DX, R10
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3

bloop64:
	CMPQ      R10, $64
	JLT       bloop16
	VPMOVSXBW (SI), Y4
	VPMOVSXBW 16(SI), Y5
	VPMOVSXBW 32(SI), Y6
	VPMOVSXBW 48(SI), Y7
	VPMADDWD  (R9), Y4, Y4
	VPMADDWD  32(R9), Y5, Y5
	VPMADDWD  64(R9), Y6, Y6
	VPMADDWD  96(R9), Y7, Y7
	VPADDD    Y4, Y0, Y0
	VPADDD    Y5, Y1, Y1
	VPADDD    Y6, Y2, Y2
	VPADDD    Y7, Y3, Y3
	ADDQ      $64, SI
	ADDQ      $128, R9
	SUBQ      $64, R10
	JMP       bloop64

bloop16:
	CMPQ      R10, $16
	JLT       browdone
	VPMOVSXBW (SI), Y4
	VPMADDWD  (R9), Y4, Y4
	VPADDD    Y4, Y0, Y0
	ADDQ      $16, SI
	ADDQ      $32, R9
	SUBQ      $16, R10
	JMP       bloop16

browdone:
	VPADDD Y1, Y0, Y0
	VPADDD Y3, Y2, Y2
	VPADDD Y2, Y0, Y0
	HSUM_D
	MOVL   AX, (R8)
	ADDQ   $4, R8
	DECQ   CX
	JNZ    rowloop
	VZEROUPPER
	RET

// func dotF32FMA(a, b *float32, n int) float32
TEXT ·dotF32FMA(SB), NOSPLIT, $0-28
	MOVQ   a+0(FP), SI
	MOVQ   b+8(FP), DI
	MOVQ   n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS X5, X5, X5

floop32:
	CMPQ        CX, $32
	JLT         floop8
	VMOVUPS     (SI), Y4
	VMOVUPS     32(SI), Y6
	VMOVUPS     64(SI), Y7
	VMOVUPS     96(SI), Y8
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y6, Y1
	VFMADD231PS 64(DI), Y7, Y2
	VFMADD231PS 96(DI), Y8, Y3
	ADDQ        $128, SI
	ADDQ        $128, DI
	SUBQ        $32, CX
	JMP         floop32

floop8:
	CMPQ        CX, $8
	JLT         floop1
	VMOVUPS     (SI), Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ        $32, SI
	ADDQ        $32, DI
	SUBQ        $8, CX
	JMP         floop8

floop1:
	TESTQ       CX, CX
	JZ          fdone
	VMOVSS      (SI), X4
	VFMADD231SS (DI), X4, X5
	ADDQ        $4, SI
	ADDQ        $4, DI
	DECQ        CX
	JMP         floop1

fdone:
	VADDPS       Y1, Y0, Y0
	VADDPS       Y3, Y2, Y2
	VADDPS       Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VPSHUFD      $0x4E, X0, X1
	VADDPS       X1, X0, X0
	VPSHUFD      $0xB1, X0, X1
	VADDPS       X1, X0, X0
	VADDSS       X5, X0, X0
	MOVSS        X0, ret+24(FP)
	VZEROUPPER
	RET
