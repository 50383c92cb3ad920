// The Go side of goru's benchmark harness: the same workloads as bench/src/workloads,
// written the idiomatic Go way. Usage: gobench WORKLOAD REPS. Prints, per run, the
// time of one operation in nanoseconds (the unit each workload's doc names).
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"
)

var workloads = map[string]func() float64{
	"spawn":    spawn,
	"yield":    yieldPair,
	"sleepers": sleepers,
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
