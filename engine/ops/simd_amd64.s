#include "textflag.h"

// func cpuid(eax, ecx uint32) (a, b, c, d uint32)
TEXT ·cpuid(SB), NOSPLIT, $0-24
	MOVL eax+0(FP), AX
	MOVL ecx+4(FP), CX
	CPUID
	MOVL AX, a+8(FP)
	MOVL BX, b+12(FP)
	MOVL CX, c+16(FP)
	MOVL DX, d+20(FP)
	RET

// func xgetbv() (eax, edx uint32)
TEXT ·xgetbv(SB), NOSPLIT, $0-8
	MOVL $0, CX
	XGETBV
	MOVL AX, eax+0(FP)
	MOVL DX, edx+4(FP)
	RET

// func addClampAVX(y *float32, n int, b, lo, hi float32)
TEXT ·addClampAVX(SB), NOSPLIT, $0-28
	MOVQ y+0(FP), DI
	MOVQ n+8(FP), CX
	VBROADCASTSS b+16(FP), Y0
	VBROADCASTSS lo+20(FP), Y1
	VBROADCASTSS hi+24(FP), Y2
	XORQ AX, AX
	CMPQ CX, $32
	JL   tail8

loop32:
	VADDPS (DI)(AX*4), Y0, Y3
	VADDPS 32(DI)(AX*4), Y0, Y4
	VADDPS 64(DI)(AX*4), Y0, Y5
	VADDPS 96(DI)(AX*4), Y0, Y6
	VMAXPS Y1, Y3, Y3
	VMAXPS Y1, Y4, Y4
	VMAXPS Y1, Y5, Y5
	VMAXPS Y1, Y6, Y6
	VMINPS Y2, Y3, Y3
	VMINPS Y2, Y4, Y4
	VMINPS Y2, Y5, Y5
	VMINPS Y2, Y6, Y6
	VMOVUPS Y3, (DI)(AX*4)
	VMOVUPS Y4, 32(DI)(AX*4)
	VMOVUPS Y5, 64(DI)(AX*4)
	VMOVUPS Y6, 96(DI)(AX*4)
	ADDQ $32, AX
	LEAQ 32(AX), DX
	CMPQ DX, CX
	JLE  loop32

tail8:
	CMPQ AX, CX
	JGE  done
	VADDPS (DI)(AX*4), Y0, Y3
	VMAXPS Y1, Y3, Y3
	VMINPS Y2, Y3, Y3
	VMOVUPS Y3, (DI)(AX*4)
	ADDQ $8, AX
	JMP  tail8

done:
	VZEROUPPER
	RET

// func dw9AVX(y *float32, src *[9]*float32, w *[9]float32, n int, b, lo, hi float32)
TEXT ·dw9AVX(SB), NOSPLIT, $0-44
	MOVQ src+8(FP), AX
	MOVQ 0(AX), R8
	MOVQ 8(AX), R9
	MOVQ 16(AX), R10
	MOVQ 24(AX), R11
	MOVQ 32(AX), R12
	MOVQ 40(AX), R13
	MOVQ 48(AX), R14
	MOVQ 56(AX), SI
	MOVQ 64(AX), BX
	MOVQ w+16(FP), AX
	VBROADCASTSS 0(AX), Y0
	VBROADCASTSS 4(AX), Y1
	VBROADCASTSS 8(AX), Y2
	VBROADCASTSS 12(AX), Y3
	VBROADCASTSS 16(AX), Y4
	VBROADCASTSS 20(AX), Y5
	VBROADCASTSS 24(AX), Y6
	VBROADCASTSS 28(AX), Y7
	VBROADCASTSS 32(AX), Y8
	VBROADCASTSS b+32(FP), Y9
	VBROADCASTSS lo+36(FP), Y10
	VBROADCASTSS hi+40(FP), Y11
	MOVQ y+0(FP), DI
	MOVQ n+24(FP), CX
	XORQ AX, AX

loop:
	CMPQ AX, CX
	JGE  done
	// Two independent sums shorten the dependency chain.
	VMOVAPS Y9, Y12
	VMULPS  (R13)(AX*4), Y5, Y13
	VFMADD231PS (R8)(AX*4), Y0, Y12
	VFMADD231PS (R14)(AX*4), Y6, Y13
	VFMADD231PS (R9)(AX*4), Y1, Y12
	VFMADD231PS (SI)(AX*4), Y7, Y13
	VFMADD231PS (R10)(AX*4), Y2, Y12
	VFMADD231PS (BX)(AX*4), Y8, Y13
	VFMADD231PS (R11)(AX*4), Y3, Y12
	VFMADD231PS (R12)(AX*4), Y4, Y13
	VADDPS  Y13, Y12, Y12
	VMAXPS  Y10, Y12, Y12
	VMINPS  Y11, Y12, Y12
	VMOVUPS Y12, (DI)(AX*4)
	ADDQ $8, AX
	JMP  loop

done:
	VZEROUPPER
	RET

// Lane order that gathers the even elements of a vector into its low half and the
// odd ones into its high half.
DATA evenOdd<>+0(SB)/4, $0
DATA evenOdd<>+4(SB)/4, $2
DATA evenOdd<>+8(SB)/4, $4
DATA evenOdd<>+12(SB)/4, $6
DATA evenOdd<>+16(SB)/4, $1
DATA evenOdd<>+20(SB)/4, $3
DATA evenOdd<>+24(SB)/4, $5
DATA evenOdd<>+28(SB)/4, $7
GLOBL evenOdd<>(SB), RODATA|NOPTR, $32

// func deinterleaveAVX(even, odd, src *float32, n int)
TEXT ·deinterleaveAVX(SB), NOSPLIT, $0-32
	MOVQ even+0(FP), DI
	MOVQ odd+8(FP), DX
	MOVQ src+16(FP), SI
	MOVQ n+24(FP), CX
	VMOVDQU evenOdd<>(SB), Y15
	XORQ AX, AX

loop:
	CMPQ AX, CX
	JGE  done
	VPERMPS (SI), Y15, Y0
	VPERMPS 32(SI), Y15, Y1
	VPERM2F128 $0x20, Y1, Y0, Y2
	VPERM2F128 $0x31, Y1, Y0, Y3
	VMOVUPS Y2, (DI)(AX*4)
	VMOVUPS Y3, (DX)(AX*4)
	ADDQ $64, SI
	ADDQ $8, AX
	JMP  loop

done:
	VZEROUPPER
	RET

// func evensAVX(dst, src *float32, n int)
TEXT ·evensAVX(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VMOVDQU evenOdd<>(SB), Y15
	XORQ AX, AX

loop:
	CMPQ AX, CX
	JGE  done
	VPERMPS (SI), Y15, Y0
	VPERMPS 32(SI), Y15, Y1
	VPERM2F128 $0x20, Y1, Y0, Y2
	VMOVUPS Y2, (DI)(AX*4)
	ADDQ $64, SI
	ADDQ $8, AX
	JMP  loop

done:
	VZEROUPPER
	RET

// func maxTapsAVX(y *float32, src **float32, taps, n int)
TEXT ·maxTapsAVX(SB), NOSPLIT, $0-32
	MOVQ y+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ taps+16(FP), BX
	MOVQ n+24(FP), CX
	XORQ AX, AX

outer:
	CMPQ AX, CX
	JGE  done
	MOVQ (SI), R8
	VMOVUPS (R8)(AX*4), Y0
	MOVQ $1, DX

inner:
	CMPQ DX, BX
	JGE  store
	MOVQ (SI)(DX*8), R8
	VMAXPS (R8)(AX*4), Y0, Y0
	INCQ DX
	JMP  inner

store:
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	JMP  outer

done:
	VZEROUPPER
	RET

// func fillAVX(y *float32, n int, v float32)
TEXT ·fillAVX(SB), NOSPLIT, $0-20
	MOVQ y+0(FP), DI
	MOVQ n+8(FP), CX
	VBROADCASTSS v+16(FP), Y0
	XORQ AX, AX

loop:
	CMPQ AX, CX
	JGE  done
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	JMP  loop

done:
	VZEROUPPER
	RET

// func sumTapsAVX(y *float32, src **float32, taps, n int)
TEXT ·sumTapsAVX(SB), NOSPLIT, $0-32
	MOVQ y+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ taps+16(FP), BX
	MOVQ n+24(FP), CX
	XORQ AX, AX

outer:
	CMPQ AX, CX
	JGE  done
	MOVQ (SI), R8
	VMOVUPS (R8)(AX*4), Y0
	MOVQ $1, DX

inner:
	CMPQ DX, BX
	JGE  store
	MOVQ (SI)(DX*8), R8
	VADDPS (R8)(AX*4), Y0, Y0
	INCQ DX
	JMP  inner

store:
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	JMP  outer

done:
	VZEROUPPER
	RET

// func dwTapsAVX(y *float32, src **float32, w *float32, taps, n int, b, lo, hi float32)
TEXT ·dwTapsAVX(SB), NOSPLIT, $0-52
	MOVQ y+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ w+16(FP), R9
	MOVQ taps+24(FP), BX
	MOVQ n+32(FP), CX
	VBROADCASTSS b+40(FP), Y9
	VBROADCASTSS lo+44(FP), Y10
	VBROADCASTSS hi+48(FP), Y11
	XORQ AX, AX

outer:
	CMPQ AX, CX
	JGE  done
	// Even taps into Y0, odd taps into Y2: two dependency chains.
	VMOVAPS Y9, Y0
	VXORPS  Y2, Y2, Y2
	XORQ    DX, DX

pair:
	LEAQ 1(DX), R10
	CMPQ R10, BX
	JGE  single
	MOVQ (SI)(DX*8), R8
	VBROADCASTSS (R9)(DX*4), Y1
	VFMADD231PS (R8)(AX*4), Y1, Y0
	MOVQ (SI)(R10*8), R8
	VBROADCASTSS (R9)(R10*4), Y3
	VFMADD231PS (R8)(AX*4), Y3, Y2
	ADDQ $2, DX
	JMP  pair

single:
	CMPQ DX, BX
	JGE  finish
	MOVQ (SI)(DX*8), R8
	VBROADCASTSS (R9)(DX*4), Y1
	VFMADD231PS (R8)(AX*4), Y1, Y0

finish:
	VADDPS  Y2, Y0, Y0
	VMAXPS  Y10, Y0, Y0
	VMINPS  Y11, Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	JMP  outer

done:
	VZEROUPPER
	RET

// func addBiasAVX(y, src *float32, n int, b float32)
TEXT ·addBiasAVX(SB), NOSPLIT, $0-28
	MOVQ y+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS b+24(FP), Y0
	XORQ AX, AX
	CMPQ CX, $32
	JL   tail8

loop32:
	VADDPS (SI)(AX*4), Y0, Y3
	VADDPS 32(SI)(AX*4), Y0, Y4
	VADDPS 64(SI)(AX*4), Y0, Y5
	VADDPS 96(SI)(AX*4), Y0, Y6
	VMOVUPS Y3, (DI)(AX*4)
	VMOVUPS Y4, 32(DI)(AX*4)
	VMOVUPS Y5, 64(DI)(AX*4)
	VMOVUPS Y6, 96(DI)(AX*4)
	ADDQ $32, AX
	LEAQ 32(AX), DX
	CMPQ DX, CX
	JLE  loop32

tail8:
	CMPQ AX, CX
	JGE  done
	VADDPS (SI)(AX*4), Y0, Y3
	VMOVUPS Y3, (DI)(AX*4)
	ADDQ $8, AX
	JMP  tail8

done:
	VZEROUPPER
	RET
