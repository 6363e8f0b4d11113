// hello-oci: a static Go server built into an image without Docker (devloop's oci builder).
// With no arguments it serves HTTP on $PORT; `hello-oci version` prints one line and exits.
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
)

const greeting = "Hello from a daemonless image"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "version" {
		fmt.Println(greeting)
		return
	}
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	http.Handle("/static/", http.StripPrefix("/static/", http.FileServer(http.Dir("/app/public"))))
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, greeting) })
	log.Printf("hello-oci listening on :%s", port)
	log.Fatal(http.ListenAndServe(":"+port, nil))
}
