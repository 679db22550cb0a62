#include "textflag.h"

// Column transform of F(2×2, 3×3)'s Bᵀ d B for one row t0..t3 (Y0..Y3) of Bᵀ d, stored
// at (SI), (SI)(DX), (SI)(DX*2) and (SI)(R12); SI then moves to the next row of ξ.
#define WINO_IN2_COLS \
	VSUBPS  Y2, Y0, Y4 \
	VADDPS  Y2, Y1, Y5 \
	VSUBPS  Y1, Y2, Y6 \
	VSUBPS  Y3, Y1, Y7 \
	VMOVUPS Y4, (SI) \
	VMOVUPS Y5, (SI)(DX*1) \
	VMOVUPS Y6, (SI)(DX*2) \
	VMOVUPS Y7, (SI)(R12*1) \
	ADDQ    R13, SI

// Loads the four columns of input row Ra into Y0..Y3 and combines them with row Rb.
#define WINO_IN2_ROWS(Ra, OP, Rb) \
	VMOVUPS (Ra), Y0 \
	VMOVUPS (Ra)(BX*1), Y1 \
	VMOVUPS 4(Ra), Y2 \
	VMOVUPS 4(Ra)(BX*1), Y3 \
	OP      (Rb), Y0, Y0 \
	OP      (Rb)(BX*1), Y1, Y1 \
	OP      4(Rb), Y2, Y2 \
	OP      4(Rb)(BX*1), Y3, Y3

// func winoIn2AVX(rows *float32, planeLen int, dst *float32, stride, n int)
TEXT ·winoIn2AVX(SB), NOSPLIT, $0-40
	MOVQ rows+0(FP), AX
	MOVQ planeLen+8(FP), BX
	SHLQ $2, BX
	MOVQ dst+16(FP), DI
	MOVQ stride+24(FP), DX
	SHLQ $2, DX
	MOVQ n+32(FP), CX
	MOVQ AX, R8
	LEAQ (AX)(BX*2), R9
	LEAQ (R9)(BX*2), R10
	LEAQ (R10)(BX*2), R11
	LEAQ (DX)(DX*2), R12
	LEAQ (DX*4), R13

in2loop:
	MOVQ DI, SI
	WINO_IN2_ROWS(R8, VSUBPS, R10) // d0 - d2
	WINO_IN2_COLS
	WINO_IN2_ROWS(R9, VADDPS, R10) // d1 + d2
	WINO_IN2_COLS
	WINO_IN2_ROWS(R10, VSUBPS, R9) // d2 - d1
	WINO_IN2_COLS
	WINO_IN2_ROWS(R9, VSUBPS, R11) // d1 - d3
	WINO_IN2_COLS
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, R10
	ADDQ $32, R11
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ  in2loop
	VZEROUPPER
	RET

// Column l (byte offset OFF) of M: s0 = m0+m1+m2 into S0, s1 = m1-m2-m3 into S1.
#define WINO_OUT2_COL(OFF, S0, S1) \
	VMOVUPS (R10)(OFF), Y8 \
	VMOVUPS (R11)(OFF), Y9 \
	VADDPS  (R9)(OFF), Y8, S0 \
	VADDPS  Y9, S0, S0 \
	VSUBPS  Y9, Y8, S1 \
	VSUBPS  (BX)(OFF), S1, S1

// Row of the output from s_0..s_3 (A..D) into Y8 (y0) and Y9 (y1), interleaved and
// stored at (DST) and 32(DST).
#define WINO_OUT2_ROW(A, B, C, D, DST) \
	VADDPS     B, A, Y8 \
	VADDPS     C, Y8, Y8 \
	VSUBPS     C, B, Y9 \
	VSUBPS     D, Y9, Y9 \
	VUNPCKLPS  Y9, Y8, Y10 \
	VUNPCKHPS  Y9, Y8, Y11 \
	VPERM2F128 $0x20, Y11, Y10, Y12 \
	VPERM2F128 $0x31, Y11, Y10, Y13 \
	VMOVUPS    Y12, (DST) \
	VMOVUPS    Y13, 32(DST)

// func winoOut2AVX(m *float32, stride int, y0, y1 *float32, n int)
TEXT ·winoOut2AVX(SB), NOSPLIT, $0-40
	MOVQ m+0(FP), R9
	MOVQ stride+8(FP), DX
	SHLQ $2, DX
	MOVQ y0+16(FP), DI
	MOVQ y1+24(FP), R8
	MOVQ n+32(FP), CX
	LEAQ (DX)(DX*2), R12
	LEAQ (DX*4), R13
	LEAQ (R9)(R13*1), R10
	LEAQ (R10)(R13*1), R11
	LEAQ (R11)(R13*1), BX
	XORQ AX, AX
	MOVQ DX, SI
	SHLQ $1, SI

out2loop:
	WINO_OUT2_COL(AX*1, Y0, Y4)
	MOVQ DX, R14
	ADDQ AX, R14
	WINO_OUT2_COL(R14*1, Y1, Y5)
	MOVQ SI, R14
	ADDQ AX, R14
	WINO_OUT2_COL(R14*1, Y2, Y6)
	MOVQ R12, R14
	ADDQ AX, R14
	WINO_OUT2_COL(R14*1, Y3, Y7)
	WINO_OUT2_ROW(Y4, Y5, Y6, Y7, R8) // the second row first: y1 may alias y0
	WINO_OUT2_ROW(Y0, Y1, Y2, Y3, DI)
	ADDQ $32, AX
	ADDQ $64, DI
	ADDQ $64, R8
	SUBQ $8, CX
	JNZ  out2loop
	VZEROUPPER
	RET
