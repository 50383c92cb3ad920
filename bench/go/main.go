// The Go side of goru's benchmark harness: the same workloads as bench/src/workloads,
// written the idiomatic Go way. Usage: gobench WORKLOAD REPS. Prints, per run, the
// time of one operation in nanoseconds (the unit each workload's doc names).
package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"
)

var workloads = map[string]func() float64{
	"spawn":           spawn,
	"yield":           yieldPair,
	"sleepers":        sleepers,
	"pingpong":        pingPong,
	"buffered1":       func() float64 { return buffered(1) },
	"buffered4":       func() float64 { return buffered(4) },
	"select":          selectTwo,
	"fanin":           fanIn,
	"lock":            lockUncontended,
	"contended":       lockContended,
	"waitgroup":       waitGroupFan,
	"context":         contextCancel,
	"aftertimeout":    afterTimeout,
	"timeoutcontexts": timeoutContexts,
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: gobench WORKLOAD REPS")
		os.Exit(2)
	}
	run, ok := workloads[os.Args[1]]
	if !ok {
		fmt.Fprintln(os.Stderr, "unknown workload", os.Args[1])
		os.Exit(2)
	}
	reps, _ := strconv.Atoi(os.Args[2])
	for i := 0; i < reps; i++ {
		fmt.Printf("%.1f\n", run())
	}
}

// spawn: start a million goroutines and wait for all of their results.
func spawn() float64 {
	const n = 1000000
	start := time.Now()
	results := make([]uint64, n)
	var wg sync.WaitGroup
	wg.Add(n)
	for i := 0; i < n; i++ {
		go func(i int) {
			results[i] = uint64(i) * 2
			wg.Done()
		}(i)
	}
	wg.Wait()
	var sum uint64
	for _, r := range results {
		sum += r
	}
	if sum != uint64(n)*uint64(n-1) {
		panic("wrong sum")
	}
	return float64(time.Since(start).Nanoseconds()) / n
}

// yield: two goroutines each calling runtime.Gosched a million times.
func yieldPair() float64 {
	const yields = 1000000
	start := time.Now()
	var wg sync.WaitGroup
	wg.Add(2)
	for g := 0; g < 2; g++ {
		go func() {
			for i := 0; i < yields; i++ {
				runtime.Gosched()
			}
			wg.Done()
		}()
	}
	wg.Wait()
	return float64(time.Since(start).Nanoseconds()) / (2 * yields)
}

// sleepers: 10,000 goroutines each sleeping 1 ms, 50 times; the overshoot of one sleep.
func sleepers() float64 {
	const count, rounds = 10000, 50
	var mu sync.Mutex
	var slowest time.Duration
	var wg sync.WaitGroup
	wg.Add(count)
	for g := 0; g < count; g++ {
		go func() {
			start := time.Now()
			for i := 0; i < rounds; i++ {
				time.Sleep(time.Millisecond)
			}
			took := time.Since(start)
			mu.Lock()
			if took > slowest {
				slowest = took
			}
			mu.Unlock()
			wg.Done()
		}()
	}
	wg.Wait()
	over := slowest/rounds - time.Millisecond
	if over < 0 {
		over = 0
	}
	return float64(over.Nanoseconds())
}

// pingpong: a value there and back over two unbuffered channels; time per round trip.
func pingPong() float64 {
	const trips = 500000
	ping, pong := make(chan uint32), make(chan uint32)
	go func() {
		for v := range ping {
			pong <- v + 1
		}
	}()
	start := time.Now()
	for i := uint32(0); i < trips; i++ {
		ping <- i
		if <-pong != i+1 {
			panic("wrong value")
		}
	}
	took := time.Since(start)
	close(ping)
	return float64(took.Nanoseconds()) / trips
}

// buffered: pairs producers and pairs consumers over one channel of capacity 1024,
// ten million values in all; time per value.
func buffered(pairs int) float64 {
	const values = 10000000
	start := time.Now()
	ch := make(chan uint64, 1024)
	var producers sync.WaitGroup
	producers.Add(pairs)
	for p := 0; p < pairs; p++ {
		go func(p int) {
			for v := uint64(p); v < values; v += uint64(pairs) {
				ch <- v
			}
			producers.Done()
		}(p)
	}
	go func() { producers.Wait(); close(ch) }()
	sums := make(chan uint64)
	for c := 0; c < pairs; c++ {
		go func() {
			var s uint64
			for v := range ch {
				s += v
			}
			sums <- s
		}()
	}
	var sum uint64
	for c := 0; c < pairs; c++ {
		sum += <-sums
	}
	if sum != values*(values-1)/2 {
		panic("wrong sum")
	}
	return float64(time.Since(start).Nanoseconds()) / values
}

// select: one consumer selecting over two buffered channels fed by two producers.
func selectTwo() float64 {
	const selects = 2000000
	start := time.Now()
	a, b := make(chan uint64, 1024), make(chan uint64, 1024)
	go func() {
		for v := uint64(0); v < selects/2; v++ {
			a <- v
		}
	}()
	go func() {
		for v := uint64(0); v < selects/2; v++ {
			b <- v
		}
	}()
	var sum uint64
	for i := 0; i < selects; i++ {
		select {
		case v := <-a:
			sum += v
		case v := <-b:
			sum += v
		}
	}
	if sum != 2*((selects/2)*(selects/2-1)/2) {
		panic("wrong sum")
	}
	return float64(time.Since(start).Nanoseconds()) / selects
}

// fanin: 100,000 goroutines each send one result over one channel.
func fanIn() float64 {
	const n = 100000
	start := time.Now()
	ch := make(chan uint64, 1024)
	for i := uint64(0); i < n; i++ {
		go func(i uint64) { ch <- i }(i)
	}
	var sum uint64
	for i := 0; i < n; i++ {
		sum += <-ch
	}
	if sum != n*(n-1)/2 {
		panic("wrong sum")
	}
	return float64(time.Since(start).Nanoseconds()) / n
}

// lock: uncontended Lock+Unlock pairs; time per pair.
func lockUncontended() float64 {
	const n = 10000000
	var mu sync.Mutex
	counter := 0
	start := time.Now()
	for i := 0; i < n; i++ {
		mu.Lock()
		counter++
		mu.Unlock()
	}
	took := time.Since(start)
	if counter != n {
		panic("wrong count")
	}
	return float64(took.Nanoseconds()) / n
}

// contended: 1000 goroutines each taking one mutex 1000 times; time per lock.
func lockContended() float64 {
	const g, per = 1000, 1000
	var mu sync.Mutex
	counter := 0
	var wg sync.WaitGroup
	start := time.Now()
	wg.Add(g)
	for i := 0; i < g; i++ {
		go func() {
			for j := 0; j < per; j++ {
				mu.Lock()
				counter++
				mu.Unlock()
			}
			wg.Done()
		}()
	}
	wg.Wait()
	took := time.Since(start)
	if counter != g*per {
		panic("wrong count")
	}
	return float64(took.Nanoseconds()) / (g * per)
}

// waitgroup: 100,000 goroutines each calling Done; time per goroutine.
func waitGroupFan() float64 {
	const n = 100000
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() { wg.Done() }()
	}
	wg.Wait()
	return float64(time.Since(start).Nanoseconds()) / n
}

// context: WithCancel then cancel; time per context.
func contextCancel() float64 {
	const n = 1000000
	root := context.Background()
	start := time.Now()
	for i := 0; i < n; i++ {
		ctx, cancel := context.WithCancel(root)
		cancel()
		if ctx.Err() == nil {
			panic("not cancelled")
		}
	}
	return float64(time.Since(start).Nanoseconds()) / n
}

// aftertimeout: a select whose ready case wins over a time.After(60 s); per select.
func afterTimeout() float64 {
	const n = 1000000
	ch := make(chan int, 1)
	start := time.Now()
	for i := 0; i < n; i++ {
		ch <- i
		select {
		case v := <-ch:
			if v != i {
				panic("wrong value")
			}
		case <-time.After(60 * time.Second):
			panic("the timeout fired")
		}
	}
	return float64(time.Since(start).Nanoseconds()) / n
}

// timeoutcontexts: 100,000 goroutines each make and stop a WithTimeout(60 s) context;
// per goroutine.
func timeoutContexts() float64 {
	const n = 100000
	root := context.Background()
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			ctx, cancel := context.WithTimeout(root, 60*time.Second)
			cancel()
			if ctx.Err() == nil {
				panic("not cancelled")
			}
			wg.Done()
		}()
	}
	wg.Wait()
	return float64(time.Since(start).Nanoseconds()) / n
}
