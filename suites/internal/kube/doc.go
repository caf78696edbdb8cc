// Package kube is what the GAMMA semantics specs do to a cluster: create
// namespaces with echo Deployments, Services selecting their pods, apply
// routes, read route status, and send requests from inside a pod with the
// echo image's exec-based client. It talks to the Kubernetes API only; it
// knows nothing of any mesh implementation.
package kube
