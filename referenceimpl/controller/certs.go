package controller

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	certutil "k8s.io/client-go/util/cert"
	"k8s.io/client-go/util/keyutil"
)

// certs is the control plane's TLS material: a CA kept in a Secret, so that
// it survives restarts (proxies hold it), and a serving certificate made
// from it at every start.
type certs struct {
	caPEM   []byte
	serving tls.Certificate
	certPEM []byte
	keyPEM  []byte
}

// loadOrCreateCA reads the CA from the Secret, creating both on first use.
func loadOrCreateCA(ctx context.Context, cs kubernetes.Interface, namespace, name string) (*x509.Certificate, *ecdsa.PrivateKey, []byte, error) {
	for attempt := 0; attempt < 3; attempt++ {
		s, err := cs.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			return parseCA(s)
		}
		if !apierrors.IsNotFound(err) {
			return nil, nil, nil, fmt.Errorf("reading CA Secret %s/%s: %w", namespace, name, err)
		}
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, nil, nil, err
		}
		ca, err := certutil.NewSelfSignedCACert(certutil.Config{CommonName: "gamma-reference-mesh-ca"}, key)
		if err != nil {
			return nil, nil, nil, err
		}
		keyPEM, err := keyutil.MarshalPrivateKeyToPEM(key)
		if err != nil {
			return nil, nil, nil, err
		}
		s = &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
			Type:       corev1.SecretTypeTLS,
			Data:       map[string][]byte{corev1.TLSCertKey: encodeCert(ca), corev1.TLSPrivateKeyKey: keyPEM},
		}
		if _, err := cs.CoreV1().Secrets(namespace).Create(ctx, s, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, nil, nil, fmt.Errorf("creating CA Secret %s/%s: %w", namespace, name, err)
		}
	}
	return nil, nil, nil, fmt.Errorf("CA Secret %s/%s keeps changing; try again", namespace, name)
}

func parseCA(s *corev1.Secret) (*x509.Certificate, *ecdsa.PrivateKey, []byte, error) {
	certs, err := certutil.ParseCertsPEM(s.Data[corev1.TLSCertKey])
	if err != nil || len(certs) == 0 {
		return nil, nil, nil, fmt.Errorf("CA Secret %s/%s has no valid %s; delete it to make a new CA: %v", s.Namespace, s.Name, corev1.TLSCertKey, err)
	}
	key, err := keyutil.ParsePrivateKeyPEM(s.Data[corev1.TLSPrivateKeyKey])
	ec, ok := key.(*ecdsa.PrivateKey)
	if err != nil || !ok {
		return nil, nil, nil, fmt.Errorf("CA Secret %s/%s has no valid ECDSA %s; delete it to make a new CA: %v", s.Namespace, s.Name, corev1.TLSPrivateKeyKey, err)
	}
	return certs[0], ec, s.Data[corev1.TLSCertKey], nil
}

// newCerts makes a serving certificate for dnsNames signed by the CA.
func newCerts(ca *x509.Certificate, caKey *ecdsa.PrivateKey, caPEM []byte, dnsNames []string) (*certs, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: dnsNames[0]},
		DNSNames:     dnsNames,
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		return nil, err
	}
	keyPEM, err := keyutil.MarshalPrivateKeyToPEM(key)
	if err != nil {
		return nil, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: certutil.CertificateBlockType, Bytes: der})
	serving, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	return &certs{caPEM: caPEM, serving: serving, certPEM: certPEM, keyPEM: keyPEM}, nil
}

func encodeCert(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: certutil.CertificateBlockType, Bytes: c.Raw})
}
