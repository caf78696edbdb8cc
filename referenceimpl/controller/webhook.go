package controller

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// InjectPath is the webhook's URL path.
const InjectPath = "/inject"

// injector is the mutating admission webhook that adds the sidecar. The
// MutatingWebhookConfiguration sends it only pods of namespaces labelled
// InjectLabel=enabled.
type injector struct {
	cfg InjectConfig
}

func (i *injector) Handle(ctx context.Context, req admission.Request) admission.Response {
	var pod corev1.Pod
	if err := json.Unmarshal(req.Object.Raw, &pod); err != nil {
		return admission.Errored(http.StatusBadRequest, fmt.Errorf("decoding pod: %w", err))
	}
	if !inject(&pod, i.cfg) {
		return admission.Allowed("not injected")
	}
	patched, err := json.Marshal(&pod)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, err)
	}
	log.FromContext(ctx).V(1).Info("injected sidecar", "namespace", req.Namespace, "pod", pod.GenerateName+pod.Name)
	return admission.PatchResponseFromRaw(req.Object.Raw, patched)
}

// caBundlePatcher writes the CA into the webhook configuration so the API
// server trusts the webhook's certificate. It retries until it succeeds,
// then re-checks periodically in case the configuration is re-applied.
type caBundlePatcher struct {
	clientset kubernetes.Interface
	name      string
	caPEM     []byte
}

func (p *caBundlePatcher) Start(ctx context.Context) error {
	l := log.FromContext(ctx).WithValues("mutatingwebhookconfiguration", p.name)
	interval := time.Second
	for {
		if err := p.patch(ctx); err != nil {
			l.Error(err, "patching caBundle; retrying")
			interval = time.Second
		} else {
			interval = 30 * time.Second
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(interval):
		}
	}
}

func (p *caBundlePatcher) patch(ctx context.Context) error {
	api := p.clientset.AdmissionregistrationV1().MutatingWebhookConfigurations()
	cfg, err := api.Get(ctx, p.name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if !setCABundle(cfg, p.caPEM) {
		return nil
	}
	_, err = api.Update(ctx, cfg, metav1.UpdateOptions{})
	return err
}

// setCABundle sets every webhook's caBundle; false when all were set.
func setCABundle(cfg *admissionregistrationv1.MutatingWebhookConfiguration, ca []byte) bool {
	changed := false
	for i := range cfg.Webhooks {
		if !bytes.Equal(cfg.Webhooks[i].ClientConfig.CABundle, ca) {
			cfg.Webhooks[i].ClientConfig.CABundle = ca
			changed = true
		}
	}
	return changed
}
