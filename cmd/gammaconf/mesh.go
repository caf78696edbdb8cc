package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"gamma-conformance/harness/local"
	"gamma-conformance/harness/mesh"
	"gamma-conformance/harness/providers"
	"gamma-conformance/profiles"
	"gamma-conformance/referenceimpl/controller"
	"gamma-conformance/referenceimpl/routing"
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
	cmd.PersistentFlags().StringVar(&kubeconfig, "kubeconfig", local.DefaultKubeconfig, "kubeconfig of the cluster (the one `gammaconf cluster up` printed)")
	install := &cobra.Command{
		Use:   "install",
		Short: "build, load and apply the reference mesh, and wait until it is ready",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := providers.Open(kubeconfig)
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
			c, err := providers.Open(kubeconfig)
			if err != nil {
				return err
			}
			if _, err := routing.ChoicesByName(args[0]); err != nil {
				return &exitError{exitUsage, err}
			}
			return mesh.SwitchChoices(cmd.Context(), c, args[0], 0, cmd.ErrOrStderr())
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
	cmd.AddCommand(&cobra.Command{
		Use:   "claims reference|alternate",
		Short: "print the suite flags that claim what a choice set passes: --supported-features and --exempt-features",
		Long: `Print, on one line, the suite flags (after "gammaconf run --") that claim exactly
the features the mesh with these choices claims on its XMesh: its upstream and
semantics features as --supported-features, the semantics features it drops as
--exempt-features (the semantics suite runs core features unless exempted).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			flags, err := claimFlags(args[0])
			if err != nil {
				return &exitError{exitUsage, err}
			}
			fmt.Fprintln(cmd.OutOrStdout(), strings.Join(flags, " "))
			return nil
		},
	})
	cmd.PersistentFlags().StringVar(&workDir, "work-dir", "", "where to build the binaries and image tarballs (default: a temporary directory)")
	return cmd
}

// claimFlags are the suite flags claiming what the named choice set claims
// on its XMesh (controller.SupportedFeatures and SemanticsFeatures).
func claimFlags(choices string) ([]string, error) {
	cs, err := routing.ChoicesByName(choices)
	if err != nil {
		return nil, err
	}
	var supported []string
	for _, f := range controller.SupportedFeatures(cs) {
		supported = append(supported, string(f))
	}
	claimed := controller.SemanticsFeatures(cs)
	supported = append(supported, claimed...)
	flags := []string{"--supported-features=" + strings.Join(supported, ",")}
	exempt := slices.DeleteFunc(profiles.Features(), func(f string) bool { return slices.Contains(claimed, f) })
	if len(exempt) > 0 {
		flags = append(flags, "--exempt-features="+strings.Join(exempt, ","))
	}
	return flags, nil
}
