package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"gamma-conformance/harness/local"
	"gamma-conformance/harness/mesh"
	"gamma-conformance/harness/providers"
)

func meshCommand() *cobra.Command {
	var kubeconfig, workDir string
	cmd := &cobra.Command{
		Use:   "mesh",
		Short: "install or remove the reference mesh",
		Long: `Install or remove the reference mesh (controller + sidecar proxy) on the cluster.

The images are built from this source tree and loaded into the cluster
(local and kind providers); nothing is pulled. Enroll a namespace with the
label ` + mesh.InjectLabel + ` (the suites take it as --namespace-labels).`,
	}
	cmd.PersistentFlags().StringVar(&kubeconfig, "kubeconfig", local.DefaultKubeconfig, "kubeconfig of the cluster (the one `gammaconf cluster up` printed)")
	cmd.AddCommand(&cobra.Command{
		Use:   "install",
		Short: "build, load and apply the reference mesh, and wait until it is ready",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := providers.Open(kubeconfig)
			if err != nil {
				return err
			}
			if err := mesh.Install(cmd.Context(), c, mesh.Options{WorkDir: workDir, Log: cmd.ErrOrStderr()}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "reference mesh installed; enroll namespaces with the label %s\n", mesh.InjectLabel)
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "uninstall",
		Short: "remove the reference mesh",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := providers.Open(kubeconfig)
			if err != nil {
				return err
			}
			return mesh.Uninstall(cmd.Context(), c, cmd.ErrOrStderr())
		},
	})
	cmd.PersistentFlags().StringVar(&workDir, "work-dir", "", "where to build the binaries and image tarballs (default: a temporary directory)")
	return cmd
}
