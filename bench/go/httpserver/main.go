// The Go side of scripts/load.sh: the same hello-world server as
// examples/http_server.rs, written with net/http (a goroutine per connection,
// keep-alive, a Date header). Given a certificate and key it serves HTTPS with
// crypto/tls (ALPN h2 and http/1.1, as net/http configures it).
//
//	httpserver [addr [cert.pem key.pem]]
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
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("Hello, World!"))
	})
	fmt.Printf("go http server on %s (GOMAXPROCS %d)\n", addr, runtime.GOMAXPROCS(0))
	var err error
	if len(os.Args) > 3 {
		err = http.ListenAndServeTLS(addr, os.Args[2], os.Args[3], nil)
	} else {
		err = http.ListenAndServe(addr, nil)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
