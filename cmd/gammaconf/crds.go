package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"gamma-conformance/gatewayapi"
	"gamma-conformance/harness/crds"
	"gamma-conformance/harness/local"
	"gamma-conformance/harness/providers"
)

func crdsCommand() *cobra.Command {
	var kubeconfig, channel, version string
	var prune bool
	cmd := &cobra.Command{Use: "crds", Short: "install the Gateway API CRDs of a release the harness runs (" + strings.Join(gatewayapi.Versions(), ", ") + ")"}
	cmd.PersistentFlags().StringVar(&kubeconfig, "kubeconfig", local.DefaultKubeconfig, "kubeconfig of the cluster")
	install := &cobra.Command{
		Use:   "install",
		Short: "apply the CRDs of one channel and wait until they are served",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := gatewayapi.Lookup(version); err != nil {
				return &exitError{exitUsage, err}
			}
			c, err := providers.Open(kubeconfig)
			if err != nil {
				return err
			}
			cfg, err := c.RESTConfig()
			if err != nil {
				return err
			}
			n, err := crds.InstallVersion(cmd.Context(), cfg, version, channel, prune)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d Gateway API %s CRDs (%s channel) established\n", n, version, channel)
			return nil
		},
	}
	install.Flags().StringVar(&version, "version", gatewayapi.Default, "Gateway API release: "+strings.Join(gatewayapi.Versions(), " or ")+" (v1.7.0's CRDs come through the nested module suites/upstream17 and Go 1.27.3, fetched once from the module proxy)")
	install.Flags().BoolVar(&prune, "prune", false, "delete installed Gateway API CRDs of another release or channel, and every object of theirs (the upstream suite refuses mixed ones)")
	install.Flags().StringVar(&channel, "channel", crds.Experimental, "Gateway API release channel: standard or experimental (XMesh, retries and traffic policies are experimental)")
	cmd.AddCommand(install)
	return cmd
}
