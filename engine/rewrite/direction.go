package rewrite

import (
	"errors"
	"fmt"

	"gonum.org/v1/gonum/mat"
)

// Direction returns the rank-r concept direction d [I, r] (row-major, orthonormal columns)
// from keys [n, I, hw] at the positions where mask [n, hw] > 0: whiten each key and weight
// it by its mask value (z = m Z k), take the top r right-singular vectors U of the stacked
// z, map back d = Z U, orthonormalise, and orient each column so that the mean dᵀk over
// the masked keys is positive.
func Direction(keys, mask []float32, n, in, hw int, z *mat.Dense, rank int) ([]float32, error) {
	if rank < 1 || rank > in {
		return nil, fmt.Errorf("rank %d: want 1..%d", rank, in)
	}
	var rows []float64
	var kept [][]float64 // unweighted masked keys, for the sign
	k := make([]float64, in)
	for j := range n {
		for p := range hw {
			mv := float64(mask[j*hw+p])
			if mv <= 0 {
				continue
			}
			for i := range in {
				k[i] = float64(keys[(j*in+i)*hw+p])
			}
			kept = append(kept, append([]float64(nil), k...))
			zk := mat.NewVecDense(in, nil)
			zk.MulVec(z, mat.NewVecDense(in, k))
			for i := range in {
				rows = append(rows, mv*zk.AtVec(i))
			}
		}
	}
	p := len(rows) / in
	if p < rank {
		return nil, fmt.Errorf("%d masked key positions: too few for rank %d", p, rank)
	}
	var svd mat.SVD
	if !svd.Factorize(mat.NewDense(p, in, rows), mat.SVDThin) {
		return nil, errors.New("SVD of the masked keys failed")
	}
	var v mat.Dense
	svd.VTo(&v)
	var d mat.Dense
	d.Mul(z, v.Slice(0, in, 0, rank))
	var qr mat.QR
	qr.Factorize(&d)
	var q mat.Dense
	qr.QTo(&q)
	out := make([]float32, in*rank)
	for c := range rank {
		var mean float64
		for _, kk := range kept {
			for i := range in {
				mean += q.At(i, c) * kk[i]
			}
		}
		sign := 1.0
		if mean < 0 {
			sign = -1
		}
		for i := range in {
			out[i*rank+c] = float32(sign * q.At(i, c))
		}
	}
	return out, nil
}

// Heatmap returns dᵀk at every position of keys [I, hw] for the first column of d [I, r]:
// where the concept fires.
func Heatmap(keys []float32, in, hw int, d []float32, rank int) []float32 {
	out := make([]float32, hw)
	for i := range in {
		di := d[i*rank]
		row := keys[i*hw : (i+1)*hw]
		for p, v := range row {
			out[p] += di * v
		}
	}
	return out
}
