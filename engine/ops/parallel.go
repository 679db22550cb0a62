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
	threads  atomic.Int64
	poolMu   sync.Mutex
	poolSize int // workers started so far
	// current is the running ParallelFor job (or noJob), which spinning workers poll
	// for; parked workers are woken through poolQueue instead.
	current   atomic.Pointer[job]
	noJob     = &job{}
	parked    atomic.Int64 // workers waiting on poolQueue
	poolQueue = make(chan *job, 64)
)

func init() {
	current.Store(noJob)
	SetThreads(runtime.NumCPU())
}

// SetThreads sets the number of goroutines the kernels use to n (at least 1). It is
// meant to be called at start-up or between runs.
//
// The kernels split their matrix products among these goroutines themselves and run
// each piece on one OpenBLAS thread, so SetThreads sets gemm's own thread count to 1:
// OpenBLAS's threads would otherwise compete with the workers for the same cores (and
// keep spinning after each call while the workers run the element-wise kernels).
//
// It also raises GOMAXPROCS to at least n+1. A goroutine calling OpenBLAS is in a cgo
// call, and when no P is idle the runtime hands that call's P to another thread and the
// goroutine must find a P again when OpenBLAS returns; with n Ps all busy with kernels
// and polling workers, that happens on nearly every call. A spare P, idle, avoids it.
func SetThreads(n int) {
	n = max(n, 1)
	threads.Store(int64(n))
	gemm.SetThreads(1)
	if runtime.GOMAXPROCS(0) <= n {
		runtime.GOMAXPROCS(n + 1)
	}
	poolMu.Lock()
	defer poolMu.Unlock()
	for ; poolSize < n-1; poolSize++ {
		go worker(poolSize + 1)
	}
}

// Threads reports the number of goroutines the kernels use.
func Threads() int { return int(threads.Load()) }

// A job is one ParallelFor call. Its chunks are dealt out in contiguous shares, one per
// thread: the caller (id 0) and worker i start on share i, then take what is left of
// the others' shares. Successive kernels thus give each core the same part of the
// image, which it wrote itself in the previous layer and still holds in its own
// caches. That matters when the cores share no cache (another CCD or socket): there,
// ResNet-50 at 2 threads took 28.5 ms with chunks taken first come, first served, and
// 26 ms with shares (20.5-21 ms either way on cores sharing an L3). Every chunk is
// claimed through its share's atomic counter, so a late or absent worker delays
// nothing. Because the caller always works on its own job, nested ParallelFor calls
// cannot deadlock.
type job struct {
	fn      func(lo, hi int)
	n, size int
	chunks  int
	next    []counter // per share: chunks claimed from it
	pending counter   // chunks not finished yet
}

// A counter has a cache line to itself, so that threads claiming chunks from different
// shares do not take the line from each other.
type counter struct {
	atomic.Int64
	_ [56]byte
}

// share returns the chunks [lo, hi) of share q.
func (j *job) share(q int) (lo, hi int) {
	t := len(j.next)
	return q * j.chunks / t, (q + 1) * j.chunks / t
}

// run works on share id, then on the rest of the others'.
func (j *job) run(id int) {
	t := len(j.next)
	for k := range t {
		q := (id + k) % t
		lo, hi := j.share(q)
		for {
			c := lo + int(j.next[q].Add(1)) - 1
			if c >= hi {
				break
			}
			start := c * j.size
			j.fn(start, min(start+j.size, j.n))
			j.pending.Add(-1)
		}
	}
}

// unclaimed reports whether some chunk of j has not been claimed yet.
func (j *job) unclaimed() bool {
	for q := range j.next {
		if lo, hi := j.share(q); int(j.next[q].Load()) < hi-lo {
			return true
		}
	}
	return false
}

// Nothing on the path of a job blocks: a goroutine that blocks is made runnable again
// on the P of the goroutine that wakes it, where it waits, sometimes for hundreds of
// microseconds, until an idle P steals it. So workers poll current for the next job,
// for spinFor after their last one (a network runs a kernel every few tens of
// microseconds), before they park on poolQueue; and the caller polls for the last
// chunks to finish.
const spinFor = 2 * time.Millisecond

// worker is the pool goroutine that takes share id of every job.
func worker(id int) {
	for {
		parked.Add(1)
		j := <-poolQueue
		for j != nil {
			j.run(id)
			done := j
			j = nil
			for start := time.Now(); j == nil && time.Since(start) < spinFor; {
				if c := current.Load(); c != done && c.unclaimed() {
					j = c
				}
			}
		}
	}
}

// wait returns when every chunk of j has finished. It yields the P once the wait is
// long enough for the workers to need it (fewer Ps than threads).
func (j *job) wait() {
	for start := time.Now(); j.pending.Load() > 0; {
		if time.Since(start) > 50*time.Microsecond {
			runtime.Gosched()
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
	j := &job{fn: fn, n: n, size: size, chunks: chunks, next: make([]counter, t)}
	j.pending.Store(int64(chunks))
	current.Store(j) // for the spinning workers
	woken := 0
	for woken < min(chunks, t)-1 {
		p := parked.Load()
		if p <= 0 {
			break // the other workers are busy or spinning
		}
		if !parked.CompareAndSwap(p, p-1) {
			continue
		}
		select {
		case poolQueue <- j:
			woken++
			continue
		default: // the queue is full of wake-ups not yet taken
			parked.Add(1)
		}
		break
	}
	if woken > 0 {
		// A woken worker waits in this P's run queue: let it start now rather than when
		// another P steals it.
		runtime.Gosched()
	}
	j.run(0)
	j.wait()
	current.CompareAndSwap(j, noJob) // do not keep fn's captures alive
}
