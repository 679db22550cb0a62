package ops

import (
	"fmt"
	"math"

	"github.com/rulebrush/rulebrush/engine/tensor"
)

// MaxPoolBackward routes each dy entry to the input pixel that won its window (the first
// maximum in scan order, as MaxPool finds it), summing where windows overlap. dx has
// the shape of x and is overwritten.
func MaxPoolBackward(dx, dy, x *tensor.Tensor, p PoolParams) {
	p = p.norm()
	s := newPoolShape("MaxPoolBackward", dy, x, p)
	sameLen("MaxPoolBackward", dx, x)
	hw, ohw := s.h*s.w, s.oh*s.ow
	parallelFor(s.planes, ohw*s.kh*s.kw, func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			xp, dxp, dyp := x.Data[pl*hw:(pl+1)*hw], dx.Data[pl*hw:(pl+1)*hw], dy.Data[pl*ohw:(pl+1)*ohw]
			clear(dxp)
			for oy := range s.oh {
				for ox := range s.ow {
					m, at := float32(math.Inf(-1)), -1
					for i := range s.kh {
						iy := oy*s.sh - s.pt + i*s.dh
						if iy < 0 || iy >= s.h {
							continue
						}
						for j := range s.kw {
							ix := ox*s.sw - s.pl + j*s.dw
							if ix >= 0 && ix < s.w && (at < 0 || xp[iy*s.w+ix] > m) {
								m, at = xp[iy*s.w+ix], iy*s.w+ix
							}
						}
					}
					if at >= 0 {
						dxp[at] += dyp[oy*s.ow+ox]
					}
				}
			}
		}
	})
}

// AveragePoolBackward spreads each dy entry evenly over the input pixels of its window,
// with the divisor AveragePool used. dx has the input's shape and is overwritten.
func AveragePoolBackward(dx, dy *tensor.Tensor, p PoolParams) {
	p = p.norm()
	s := newPoolShape("AveragePoolBackward", dy, dx, p)
	hw, ohw := s.h*s.w, s.oh*s.ow
	parallelFor(s.planes, ohw*s.kh*s.kw, func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			dxp, dyp := dx.Data[pl*hw:(pl+1)*hw], dy.Data[pl*ohw:(pl+1)*ohw]
			clear(dxp)
			for oy := range s.oh {
				for ox := range s.ow {
					var cnt, padCnt int
					for i := range s.kh {
						iy := oy*s.sh - s.pt + i*s.dh
						inPadH := iy >= -s.pt && iy < s.h+s.pb
						for j := range s.kw {
							ix := ox*s.sw - s.pl + j*s.dw
							if inPadH && ix >= -s.pl && ix < s.w+s.pr {
								padCnt++
							}
							if iy >= 0 && iy < s.h && ix >= 0 && ix < s.w {
								cnt++
							}
						}
					}
					if p.CountIncludePad {
						cnt = padCnt
					}
					g := dyp[oy*s.ow+ox] / float32(max(cnt, 1))
					for i := range s.kh {
						iy := oy*s.sh - s.pt + i*s.dh
						if iy < 0 || iy >= s.h {
							continue
						}
						for j := range s.kw {
							ix := ox*s.sw - s.pl + j*s.dw
							if ix >= 0 && ix < s.w {
								dxp[iy*s.w+ix] += g
							}
						}
					}
				}
			}
		}
	})
}

// GlobalAveragePoolBackward spreads dy [N,C,1,...] evenly over each plane of dx [N,C,...].
func GlobalAveragePoolBackward(dx, dy *tensor.Tensor) {
	if len(dx.Shape) < 2 {
		panic(fmt.Sprintf("ops.GlobalAveragePoolBackward: dx %v has no channel axis", dx.Shape))
	}
	planes := dx.Shape[0] * dx.Shape[1]
	if len(dy.Data) != planes {
		panic(fmt.Sprintf("ops.GlobalAveragePoolBackward: dy %v for dx %v", dy.Shape, dx.Shape))
	}
	if planes == 0 {
		return
	}
	hw := len(dx.Data) / planes
	parallelFor(planes, hw, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			fill(dx.Data[i*hw:(i+1)*hw], dy.Data[i]/float32(hw))
		}
	})
}
