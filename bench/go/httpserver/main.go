// The Go side of scripts/load.sh: the same hello-world server as
// examples/http_server.rs, written with net/http (a goroutine per connection,
// keep-alive, a Date header).
package main

import (
	"fmt"
	"net/http"
	"os"
	"runtime"
)

func main() {
	addr := "127.0.0.1:8081"
	if len(os.Args) > 1 {
		addr = os.Args[1]
	}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("Hello, World!"))
	})
	fmt.Printf("go http server on http://%s (GOMAXPROCS %d)\n", addr, runtime.GOMAXPROCS(0))
	if err := http.ListenAndServe(addr, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
