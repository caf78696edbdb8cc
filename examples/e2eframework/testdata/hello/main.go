// Command hello prints a greeting: the entrypoint of the image that the
// e2e-framework example loads into the cluster.
package main

import "fmt"

func main() { fmt.Println("hello from an image loaded through the e2e-framework provider") }
