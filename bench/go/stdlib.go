// The standard-library workloads (bench/src/workloads/stdlib.rs), the Go way.
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

func init() {
	workloads["processes"] = processes
	workloads["files"] = files
	workloads["lookups"] = lookups
	workloads["unixpingpong"] = unixPingPong
}

// processes: 1,000 runs of `true`, 16 at a time; ns per process.
func processes() float64 {
	const n, slots = 1000, 16
	start := time.Now()
	var wg sync.WaitGroup
	for s := 0; s < slots; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < n/slots; i++ {
				if err := exec.Command("true").Run(); err != nil {
					panic(err)
				}
			}
		}()
	}
	wg.Wait()
	return float64(time.Since(start).Nanoseconds()) / float64(n/slots*slots)
}

// files: os.ReadFile of 10,000 small files by 8 goroutines; ns per file.
func files() float64 {
	const n, readers = 10000, 8
	dir, err := os.MkdirTemp("", "gobench-files")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	paths := make([]string, n)
	for i := range paths {
		paths[i] = filepath.Join(dir, fmt.Sprintf("%d.txt", i))
		body := fmt.Sprintf("file %d: %s", i, strings.Repeat("x", 100))
		if err := os.WriteFile(paths[i], []byte(body), 0o600); err != nil {
			panic(err)
		}
	}
	start := time.Now()
	var wg sync.WaitGroup
	for r := 0; r < readers; r++ {
		wg.Add(1)
		go func(r int) {
			defer wg.Done()
			for i := r; i < n; i += readers {
				if _, err := os.ReadFile(paths[i]); err != nil {
					panic(err)
				}
			}
		}(r)
	}
	wg.Wait()
	return float64(time.Since(start).Nanoseconds()) / n
}

// lookups: 1,000 lookups of localhost by 100 goroutines; ns per lookup.
func lookups() float64 {
	const n, workers = 1000, 100
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < n/workers; i++ {
				addrs, err := net.DefaultResolver.LookupHost(context.Background(), "localhost")
				if err != nil || len(addrs) == 0 {
					panic(err)
				}
			}
		}()
	}
	wg.Wait()
	return float64(time.Since(start).Nanoseconds()) / n
}

// unixPingPong: one byte back and forth over a Unix socket; ns per round trip.
func unixPingPong() float64 {
	const rounds = 100000
	path := filepath.Join(os.TempDir(), fmt.Sprintf("gobench-%d.sock", os.Getpid()))
	os.Remove(path)
	l, err := net.Listen("unix", path)
	if err != nil {
		panic(err)
	}
	defer os.Remove(path)
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			panic(err)
		}
		buf := make([]byte, 1)
		for i := 0; i < rounds; i++ {
			if _, err := c.Read(buf); err != nil {
				panic(err)
			}
			if _, err := c.Write(buf); err != nil {
				panic(err)
			}
		}
	}()
	c, err := net.Dial("unix", path)
	if err != nil {
		panic(err)
	}
	buf := []byte{7}
	start := time.Now()
	for i := 0; i < rounds; i++ {
		if _, err := c.Write(buf); err != nil {
			panic(err)
		}
		if _, err := c.Read(buf); err != nil {
			panic(err)
		}
	}
	return float64(time.Since(start).Nanoseconds()) / rounds
}
