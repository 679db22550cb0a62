#include "textflag.h"

// The 3×3 depthwise plane kernels (see dw3_amd64.go). Z0-Z8 hold the nine weights, Z9
// the bias, Z10 and Z11 the clamp and Z12 the sum of a chunk of 16 outputs; R12-R14
// point at the three input rows of the output row (moved left by the padding), or are
// nil where the row is outside the image. Each chunk of a row reads its masks, 4
// (stride 1) or 8 (stride 2) uint16, from the mask table.

// The geometry (dw3Geom) fields, at these offsets from R9.
#define G_H 0
#define G_W 8
#define G_OH 16
#define G_OW 24
#define G_PT 32
#define G_PL 40
#define G_STRIDE 48
#define G_CHUNKS 56

// PROLOGUE loads the weights, bias and clamp and sets up the row loop: DI the output
// row, SI the plane, DX the height, R11 the input row in bytes, R15 the left padding
// in bytes, BX the first input row of the output row (-pt), R8 the rows left.
#define PROLOGUE \
	MOVQ w+16(FP), R9; \
	VBROADCASTSS 0(R9), Z0; \
	VBROADCASTSS 4(R9), Z1; \
	VBROADCASTSS 8(R9), Z2; \
	VBROADCASTSS 12(R9), Z3; \
	VBROADCASTSS 16(R9), Z4; \
	VBROADCASTSS 20(R9), Z5; \
	VBROADCASTSS 24(R9), Z6; \
	VBROADCASTSS 28(R9), Z7; \
	VBROADCASTSS 32(R9), Z8; \
	VBROADCASTSS b+40(FP), Z9; \
	VBROADCASTSS lo+44(FP), Z10; \
	VBROADCASTSS hi+48(FP), Z11; \
	MOVQ geom+32(FP), R9; \
	MOVQ y+0(FP), DI; \
	MOVQ x+8(FP), SI; \
	MOVQ G_H(R9), DX; \
	MOVQ G_W(R9), R11; \
	SHLQ $2, R11; \
	MOVQ G_PL(R9), R15; \
	SHLQ $2, R15; \
	XORQ BX, BX; \
	SUBQ G_PT(R9), BX; \
	MOVQ G_OH(R9), R8

// ROWPTR sets dst to the input row AX (moved left by the padding), or to CX (zero) when
// AX is outside [0, height): compared unsigned, a negative row is out too.
#define ROWPTR(dst) \
	MOVQ AX, dst; \
	IMULQ R11, dst; \
	ADDQ SI, dst; \
	SUBQ R15, dst; \
	CMPQ AX, DX; \
	CMOVQCC CX, dst

// ROWS points R12-R14 at the three input rows from BX on and resets the chunk loop:
// CX the chunks, AX the byte offset of the chunk's first output, R10 the masks.
#define ROWS \
	XORQ CX, CX; \
	MOVQ BX, AX; \
	ROWPTR(R12); \
	INCQ AX; \
	ROWPTR(R13); \
	INCQ AX; \
	ROWPTR(R14); \
	MOVQ G_CHUNKS(R9), CX; \
	XORQ AX, AX; \
	MOVQ masks+24(FP), R10

// NEXTROW moves to the next output row.
#define NEXTROW \
	MOVQ G_OW(R9), AX; \
	SHLQ $2, AX; \
	ADDQ AX, DI; \
	ADDQ G_STRIDE(R9), BX; \
	DECQ R8

// STORE clamps the chunk and stores the lanes in mask k.
#define STORE(k) \
	VMAXPS Z10, Z12, Z12; \
	VMINPS Z11, Z12, Z12; \
	VMOVUPS Z12, k, (DI)(AX*1)

// S1TAP adds the weight wz times the 16 inputs at off(row) under mask k.
#define S1TAP(row, off, k, wz) \
	VMOVUPS.Z off(row)(AX*1), k, Z13; \
	VFMADD231PS Z13, wz, Z12

// S2TAP adds the weight wz times the even lanes of the 32 inputs at off(row) under the
// masks kLo and kHi (Z15 holds the even lane indices).
#define S2TAP(row, off, kLo, kHi, wz) \
	VMOVUPS.Z off(row)(AX*2), kLo, Z13; \
	VMOVUPS.Z off+64(row)(AX*2), kHi, Z14; \
	VPERMT2PS Z14, Z15, Z13; \
	VFMADD231PS Z13, wz, Z12

DATA evens<>+0(SB)/4, $0
DATA evens<>+4(SB)/4, $2
DATA evens<>+8(SB)/4, $4
DATA evens<>+12(SB)/4, $6
DATA evens<>+16(SB)/4, $8
DATA evens<>+20(SB)/4, $10
DATA evens<>+24(SB)/4, $12
DATA evens<>+28(SB)/4, $14
DATA evens<>+32(SB)/4, $16
DATA evens<>+36(SB)/4, $18
DATA evens<>+40(SB)/4, $20
DATA evens<>+44(SB)/4, $22
DATA evens<>+48(SB)/4, $24
DATA evens<>+52(SB)/4, $26
DATA evens<>+56(SB)/4, $28
DATA evens<>+60(SB)/4, $30
GLOBL evens<>(SB), RODATA, $64

// func dw3PlaneS1(y, x *float32, w *[9]float32, masks *uint16, geom *dw3Geom, b, lo, hi float32)
TEXT ·dw3PlaneS1(SB), NOSPLIT, $0-52
	PROLOGUE
row1:
	TESTQ R8, R8
	JZ done1
	ROWS
chunk1:
	TESTQ CX, CX
	JZ next1
	KMOVW 0(R10), K1
	KMOVW 2(R10), K2
	KMOVW 4(R10), K3
	KMOVW 6(R10), K4
	VMOVAPS Z9, Z12
	TESTQ R12, R12
	JZ r11
	S1TAP(R12, 0, K1, Z0)
	S1TAP(R12, 4, K2, Z1)
	S1TAP(R12, 8, K3, Z2)
r11:
	TESTQ R13, R13
	JZ r21
	S1TAP(R13, 0, K1, Z3)
	S1TAP(R13, 4, K2, Z4)
	S1TAP(R13, 8, K3, Z5)
r21:
	TESTQ R14, R14
	JZ store1
	S1TAP(R14, 0, K1, Z6)
	S1TAP(R14, 4, K2, Z7)
	S1TAP(R14, 8, K3, Z8)
store1:
	STORE(K4)
	ADDQ $64, AX
	ADDQ $8, R10
	DECQ CX
	JMP chunk1
next1:
	NEXTROW
	JMP row1
done1:
	VZEROUPPER
	RET

// func dw3PlaneS2(y, x *float32, w *[9]float32, masks *uint16, geom *dw3Geom, b, lo, hi float32)
TEXT ·dw3PlaneS2(SB), NOSPLIT, $0-52
	PROLOGUE
	VMOVUPS evens<>(SB), Z15
row2:
	TESTQ R8, R8
	JZ done2
	ROWS
chunk2:
	TESTQ CX, CX
	JZ next2
	KMOVW 0(R10), K1
	KMOVW 2(R10), K2
	KMOVW 4(R10), K3
	KMOVW 6(R10), K4
	KMOVW 8(R10), K5
	KMOVW 10(R10), K6
	KMOVW 12(R10), K7
	VMOVAPS Z9, Z12
	TESTQ R12, R12
	JZ r12
	S2TAP(R12, 0, K1, K2, Z0)
	S2TAP(R12, 4, K3, K4, Z1)
	S2TAP(R12, 8, K5, K6, Z2)
r12:
	TESTQ R13, R13
	JZ r22
	S2TAP(R13, 0, K1, K2, Z3)
	S2TAP(R13, 4, K3, K4, Z4)
	S2TAP(R13, 8, K5, K6, Z5)
r22:
	TESTQ R14, R14
	JZ store2
	S2TAP(R14, 0, K1, K2, Z6)
	S2TAP(R14, 4, K3, K4, Z7)
	S2TAP(R14, 8, K5, K6, Z8)
store2:
	STORE(K7)
	ADDQ $64, AX
	ADDQ $16, R10
	DECQ CX
	JMP chunk2
next2:
	NEXTROW
	JMP row2
done2:
	VZEROUPPER
	RET
