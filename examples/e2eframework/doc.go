// Package e2eframework is a runnable example of a mesh vendor's test
// written with sigs.k8s.io/e2e-framework (v0.7.0) on top of this module:
// the local cluster provider (harness/local) is the e2e-framework cluster
// provider, and the GAMMA semantics suite (suites/semantics) is called as a
// library from an e2e-framework feature. Its tests are in main_test.go and
// cluster_test.go; `make test` runs them against the cluster it brought up,
// which the provider adopts (and so leaves up).
//
// The vendor's TestMain in short:
//
//	testenv := env.New()
//	testenv.Setup(envfuncs.CreateCluster(local.New(local.Options{}), "gamma"))
//	testenv.Finish(envfuncs.DestroyCluster("gamma"))
//	os.Exit(testenv.Run(m))
//
// and in a feature, with the mesh's own namespace labels:
//
//	semantics.Run(t, semantics.Config{RESTConfig: cfg.Client().RESTConfig(),
//		NamespaceLabels: map[string]string{"istio-injection": "enabled"}})
package e2eframework
