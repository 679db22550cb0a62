package ops

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rulebrush/rulebrush/engine/internal/gemm"
)

// minParallelWork is roughly the number of scalar operations below which handing work
// to another goroutine costs more than it saves.
const minParallelWork = 1 << 14

// chunksPerThread is how many pieces per worker ParallelFor cuts the range into.
const chunksPerThread = 4

var (
	threads   atomic.Int64
	poolMu    sync.Mutex
	poolSize  int                   // workers started so far
	poolQueue = make(chan *job, 64) // requests for help; a worker answering one joins that job
)

func init() { SetThreads(runtime.NumCPU()) }

// SetThreads sets the number of goroutines the kernels use to n (at least 1). It is
// meant to be called at start-up or between runs.
//
// The kernels split their matrix products among these goroutines themselves and run
// each piece on one OpenBLAS thread, so SetThreads sets gemm's own thread count to 1:
// OpenBLAS's threads would otherwise compete with the workers for the same cores (and
// keep spinning after each call while the workers run the element-wise kernels).
func SetThreads(n int) {
	n = max(n, 1)
	threads.Store(int64(n))
	gemm.SetThreads(1)
	poolMu.Lock()
	defer poolMu.Unlock()
	for ; poolSize < n-1; poolSize++ {
		go worker()
	}
}

// Threads reports the number of goroutines the kernels use.
func Threads() int { return int(threads.Load()) }

// A job is one ParallelFor call: chunks are claimed through an atomic counter by the
// caller and by any worker that answers the call for help. Because the caller always
// works on its own job, nested ParallelFor calls cannot deadlock.
type job struct {
	fn      func(lo, hi int)
	n, size int
	chunks  int64
	next    atomic.Int64
	wg      sync.WaitGroup
}

func (j *job) run() {
	for {
		c := j.next.Add(1) - 1
		if c >= j.chunks {
			return
		}
		lo := int(c) * j.size
		j.fn(lo, min(lo+j.size, j.n))
		j.wg.Done()
	}
}

// spinFor is how long an idle worker keeps polling for the next job before it sleeps.
// A network runs a kernel every few tens of microseconds; waking a sleeping goroutine
// costs about as much as a small kernel, so workers stay awake between kernels.
const spinFor = 100 * time.Microsecond

func worker() {
	for {
		j := <-poolQueue
		for j != nil {
			j.run()
			j = nil
			for start := time.Now(); j == nil && time.Since(start) < spinFor; {
				select {
				case j = <-poolQueue:
				default:
					runtime.Gosched()
				}
			}
		}
	}
}

// ParallelFor calls fn on disjoint ranges covering [0, n), using up to Threads()
// goroutines including the caller, and returns when all calls have returned. It runs
// fn(0, n) inline when Threads() is 1 or n < 2.
func ParallelFor(n int, fn func(lo, hi int)) {
	parallelFor(n, minParallelWork, fn)
}

// parallelFor is ParallelFor for items costing about cost scalar operations each: small
// totals run inline.
func parallelFor(n, cost int, fn func(lo, hi int)) {
	t := Threads()
	if n <= 0 {
		return
	}
	if t == 1 || n < 2 || n*cost < minParallelWork {
		fn(0, n)
		return
	}
	// A few chunks per worker, so that a worker delayed by another process on its core
	// holds up at most a small share of the work.
	chunks := min(chunksPerThread*t, n)
	size := (n + chunks - 1) / chunks
	chunks = (n + size - 1) / size
	j := &job{fn: fn, n: n, size: size, chunks: int64(chunks)}
	j.wg.Add(chunks)
	for range min(chunks, t) - 1 {
		select {
		case poolQueue <- j:
		default: // every worker is busy; the caller does the rest itself
		}
	}
	j.run()
	j.wg.Wait()
}
