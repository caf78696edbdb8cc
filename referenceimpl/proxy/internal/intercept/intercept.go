// Package intercept installs and removes the nftables rules that send a
// pod's outbound TCP connections to its sidecar proxy. It talks netlink
// directly (github.com/google/nftables), so the init container needs no
// iptables or nft userland, only CAP_NET_ADMIN in the pod's network
// namespace.
//
// The rules, in one table of the inet family (IPv4 and IPv6):
//
//	table inet gamma_proxy {
//	  chain output {
//	    type nat hook output priority -100;
//	    meta skuid <proxy uid> return      # the proxy's own connections
//	    ip daddr 127.0.0.0/8 return         # loopback
//	    ip6 daddr ::1 return
//	    meta l4proto tcp redirect to :<proxy port>
//	  }
//	}
//
// A redirected connection keeps its original destination in conntrack,
// where the proxy reads it back with SO_ORIGINAL_DST.
package intercept

import (
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// TableName is the nftables table that holds the interception rules.
const TableName = "gamma_proxy"

var table = &nftables.Table{Family: nftables.TableFamilyINet, Name: TableName}

// Install replaces the interception rules of the current network namespace
// in one netlink transaction: either all rules are in place afterwards or
// none changed.
func Install(proxyPort uint16, proxyUID uint32) error {
	if proxyPort == 0 {
		return errors.New("proxy port 0: give the port the proxy's outbound listener uses")
	}
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("opening netlink: %w", err)
	}
	// add + delete + add: a fresh table whether or not one existed.
	c.AddTable(table)
	c.DelTable(table)
	c.AddTable(table)
	chain := c.AddChain(&nftables.Chain{
		Name:     "output",
		Table:    table,
		Type:     nftables.ChainTypeNAT,
		Hooknum:  nftables.ChainHookOutput,
		Priority: nftables.ChainPriorityNATDest,
	})
	ret := &expr.Verdict{Kind: expr.VerdictReturn}
	for _, exprs := range [][]expr.Any{
		{
			&expr.Meta{Key: expr.MetaKeySKUID, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(proxyUID)},
			ret,
		},
		{
			&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.NFPROTO_IPV4}},
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: []byte{255, 0, 0, 0}, Xor: []byte{0, 0, 0, 0}},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{127, 0, 0, 0}},
			ret,
		},
		{
			&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.NFPROTO_IPV6}},
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 24, Len: 16},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: net.IPv6loopback},
			ret,
		},
		{
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_TCP}},
			&expr.Immediate{Register: 1, Data: binaryutil.BigEndian.PutUint16(proxyPort)},
			&expr.Redir{RegisterProtoMin: 1},
		},
	} {
		c.AddRule(&nftables.Rule{Table: table, Chain: chain, Exprs: exprs})
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("installing the nftables rules (needs CAP_NET_ADMIN and nf_tables in the kernel): %w", err)
	}
	return nil
}

// Remove deletes the interception rules; it is not an error if there are
// none.
func Remove() error {
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("opening netlink: %w", err)
	}
	c.DelTable(table)
	if err := c.Flush(); err != nil && !errors.Is(err, os.ErrNotExist) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("removing the nftables rules: %w", err)
	}
	return nil
}
