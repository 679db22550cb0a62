//go:build !unix

package rewrite

func cpuSeconds() float64 { return 0 }
