// hello: the example app devloop builds, deploys and forwards. It answers GET / with a greeting
// and serves ./public under /static/ (files there are synced into the container without a rebuild).
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
)

const greeting = "Hello from devloop v1"

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	publicDir := os.Getenv("PUBLIC_DIR")
	if publicDir == "" {
		publicDir = "/app/public"
	}
	http.Handle("/static/", http.StripPrefix("/static/", http.FileServer(http.Dir(publicDir))))
	http.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		log.Printf("%s %s", r.Method, r.URL.Path)
		fmt.Fprintln(w, greeting)
	})
	log.Printf("hello listening on :%s", port)
	log.Fatal(http.ListenAndServe(":"+port, nil))
}
