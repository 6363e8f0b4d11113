// __NAME__: a minimal HTTP server with no third-party dependencies.
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
)

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	http.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "hello from __NAME__")
	})
	log.Printf("__NAME__ listening on :%s", port)
	log.Fatal(http.ListenAndServe(":"+port, nil))
}
