// Package e2e holds the smoke test of whatever cluster GAMMA_KUBECONFIG
// points at: a pod from a locally built image, exec, logs, cluster DNS,
// ClusterIP Services and pod-to-pod traffic. It never starts a cluster.
package e2e
