package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"gamma-conformance/harness"
	"gamma-conformance/harness/local"
	"gamma-conformance/harness/mesh"
)

func meshCommand() *cobra.Command {
	var kubeconfig, workDir, choices string
	cmd := &cobra.Command{
		Use:   "mesh",
		Short: "install or remove the reference mesh",
		Long: `Install or remove the reference mesh (controller + sidecar proxy) on the cluster.

The images are built from this source tree and loaded into the cluster
(local and kind providers); nothing is pulled. Enroll a namespace with the
label ` + mesh.InjectLabel + ` (the suites take it as --namespace-labels).`,
	}
	cmd.PersistentFlags().StringVar(&kubeconfig, "kubeconfig", filepath.Join(local.DefaultDir, "kubeconfig"), "kubeconfig of the cluster (the one `gammaconf cluster up` printed)")
	install := &cobra.Command{
		Use:   "install",
		Short: "build, load and apply the reference mesh, and wait until it is ready",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := harness.Open(kubeconfig)
			if err != nil {
				return err
			}
			if err := mesh.Install(cmd.Context(), c, mesh.Options{WorkDir: workDir, Log: cmd.ErrOrStderr(), Choices: choices}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "reference mesh installed (%s choices); enroll namespaces with the label %s\n", choices, mesh.InjectLabel)
			return nil
		},
	}
	install.Flags().StringVar(&choices, "choices", "reference", "the controller's answers to the questions the specification leaves open: reference, or alternate (the other legal answer everywhere)")
	cmd.AddCommand(install)
	cmd.AddCommand(&cobra.Command{
		Use:   "switch-choices reference|alternate",
		Short: "switch the installed mesh's controller to the other choice set and wait until its XMesh claims it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := harness.Open(kubeconfig)
			if err != nil {
				return err
			}
			return mesh.SwitchChoices(cmd.Context(), c, args[0], 0, cmd.ErrOrStderr())
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "uninstall",
		Short: "remove the reference mesh",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := harness.Open(kubeconfig)
			if err != nil {
				return err
			}
			return mesh.Uninstall(cmd.Context(), c, cmd.ErrOrStderr())
		},
	})
	cmd.PersistentFlags().StringVar(&workDir, "work-dir", "", "where to build the binaries and image tarballs (default: a temporary directory)")
	return cmd
}
