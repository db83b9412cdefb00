package auroratest

import (
	"context"
	"net/http"
	"strings"
	"time"
)

// CA actions: DescribeCertificates, ModifyCertificates,
// DescribePendingMaintenanceActions, and ModifyDBInstance's
// CACertificateIdentifier (handled in clusters.go, applied here).

func errCertNotFound(id string) *apiError {
	return &apiError{http.StatusNotFound, "CertificateNotFound", "Certificate not found: " + id}
}

// defaultCALocked is the CA for new launches. Callers hold e.mu.
func (e *Emulator) defaultCALocked() string {
	if e.caOverride != "" {
		return e.caOverride
	}
	return caRSA2048
}

type xCertificate struct {
	CertificateArn            string
	CertificateIdentifier     string
	CertificateType           string
	CustomerOverride          bool
	CustomerOverrideValidTill string `xml:",omitempty"`
	Thumbprint                string
	ValidFrom                 string
	ValidTill                 string
}

type xDescribeCertificatesResult struct {
	DefaultCertificateForNewLaunches string
	Certificates                     struct {
		Items []xCertificate `xml:"Certificate"`
	}
	Marker string `xml:",omitempty"`
}

type xModifyCertificatesResult struct {
	Certificate xCertificate
}

func (e *Emulator) xCertLocked(id string) xCertificate {
	ca := e.cas.byID[id]
	x := xCertificate{
		CertificateArn:        "arn:aws:rds:" + e.region + "::cert:" + id,
		CertificateIdentifier: id, CertificateType: "CA", Thumbprint: ca.thumb,
		ValidFrom: ca.cert.NotBefore.UTC().Format(timeFormat), ValidTill: ca.cert.NotAfter.UTC().Format(timeFormat),
	}
	if e.caOverride == id {
		x.CustomerOverride = true
		x.CustomerOverrideValidTill = x.ValidTill
	}
	return x
}

func (e *Emulator) actDescribeCertificates(r *request) (any, error) {
	if len(r.members("Filters.Filter")) > 0 {
		return nil, errInvalidValue("Filters are not supported for DescribeCertificates; use CertificateIdentifier.")
	}
	id := r.str("CertificateIdentifier")
	e.mu.Lock()
	defer e.mu.Unlock()
	ids := caIDs
	if id != "" {
		if _, ok := e.cas.byID[id]; !ok {
			return nil, errCertNotFound(id)
		}
		ids = []string{id}
	}
	from, to, next, err := r.page(len(ids))
	if err != nil {
		return nil, err
	}
	res := xDescribeCertificatesResult{DefaultCertificateForNewLaunches: e.defaultCALocked(), Marker: next}
	for _, id := range ids[from:to] {
		res.Certificates.Items = append(res.Certificates.Items, e.xCertLocked(id))
	}
	return res, nil
}

// actModifyCertificates sets or removes the customer override of the CA
// for new launches. Existing instances keep their CA.
func (e *Emulator) actModifyCertificates(r *request) (any, error) {
	id := r.str("CertificateIdentifier")
	remove, err := r.optBool("RemoveCustomerOverride", false)
	if err != nil {
		return nil, err
	}
	if (id == "") == !remove {
		return nil, errInvalidCombination("Specify either CertificateIdentifier or RemoveCustomerOverride=true.")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if remove {
		prev := e.caOverride
		e.caOverride = ""
		if prev == "" {
			prev = caRSA2048
		}
		return xModifyCertificatesResult{Certificate: e.xCertLocked(prev)}, nil
	}
	if _, ok := e.cas.byID[id]; !ok {
		return nil, errCertNotFound(id)
	}
	e.caOverride = id
	return xModifyCertificatesResult{Certificate: e.xCertLocked(id)}, nil
}

type xPendingAction struct {
	Action               string
	AutoAppliedAfterDate string `xml:",omitempty"`
	ForcedApplyDate      string `xml:",omitempty"`
	CurrentApplyDate     string `xml:",omitempty"`
	Description          string
}

type xResourcePendingActions struct {
	ResourceIdentifier              string
	PendingMaintenanceActionDetails struct {
		Items []xPendingAction `xml:"PendingMaintenanceAction"`
	}
}

type xDescribePendingMaintenanceActionsResult struct {
	PendingMaintenanceActions struct {
		Items []xResourcePendingActions `xml:"ResourcePendingMaintenanceActions"`
	}
	Marker string `xml:",omitempty"`
}

// actDescribePendingMaintenanceActions reports ca-certificate-rotation for
// instances whose CA expires within the rotation window, and for
// instances with a CA change waiting for a reboot.
func (e *Emulator) actDescribePendingMaintenanceActions(r *request) (any, error) {
	filters, err := r.filters()
	if err != nil {
		return nil, err
	}
	for _, f := range filters {
		if f.name != "db-instance-id" && f.name != "db-cluster-id" {
			return nil, errInvalidValue("Unrecognized filter name: %s. auroratest supports db-instance-id and db-cluster-id.", f.name)
		}
	}
	resource := r.str("ResourceIdentifier")
	now := time.Now()
	e.mu.Lock()
	var list []xResourcePendingActions
	for _, c := range e.clusterOrder {
	instances:
		for _, in := range c.members {
			arn := e.arn("db", in.id)
			if resource != "" && resource != arn {
				continue
			}
			for _, f := range filters {
				ok := f.name == "db-instance-id" && matchFilter(f, in.id, arn) ||
					f.name == "db-cluster-id" && matchFilter(f, c.id, e.arn("cluster", c.id))
				if !ok {
					continue instances
				}
			}
			expiry := e.cas.byID[in.ca].cert.NotAfter
			if in.pendingCA == "" && expiry.Sub(now) > e.caWindow {
				continue
			}
			a := xPendingAction{Action: "ca-certificate-rotation", Description: "Certificate rotation",
				ForcedApplyDate: expiry.UTC().Format(timeFormat)}
			if in.pendingCA != "" {
				a.Description = "Certificate rotation to " + in.pendingCA + " at the next reboot"
				a.CurrentApplyDate = now.UTC().Format(timeFormat)
			} else {
				a.AutoAppliedAfterDate = expiry.Add(-7 * 24 * time.Hour).UTC().Format(timeFormat)
			}
			var x xResourcePendingActions
			x.ResourceIdentifier = arn
			x.PendingMaintenanceActionDetails.Items = []xPendingAction{a}
			list = append(list, x)
		}
	}
	e.mu.Unlock()
	if resource != "" && len(list) == 0 && !strings.HasPrefix(resource, e.arn("db", "")) {
		return nil, &apiError{http.StatusNotFound, "ResourceNotFoundFault", "Resource " + resource + " not found."}
	}
	from, to, next, err := r.page(len(list))
	if err != nil {
		return nil, err
	}
	var res xDescribePendingMaintenanceActionsResult
	res.Marker, res.PendingMaintenanceActions.Items = next, list[from:to]
	return res, nil
}

// rotateCA applies a CA change at once: a new server certificate, then a
// restart (CertificateRotationRestart, the default) or a reload.
func (e *Emulator) rotateCA(ctx context.Context, in *instance, caID string, restart bool) {
	if restart {
		e.mu.Lock()
		in.pendingCA = caID
		in.status = statusRebooting
		e.mu.Unlock()
		e.reboot(ctx, in)
		return
	}
	in.opMu.Lock()
	defer in.opMu.Unlock()
	e.mu.Lock()
	err := e.issueLocked(in, caID)
	srv, t := in.server, in.tls
	e.mu.Unlock()
	if err == nil && srv != nil {
		if err = srv.SetTLS(t); err == nil && srv.Running() {
			err = reloadAndWait(ctx, srv)
		}
	}
	if err != nil && ctx.Err() == nil {
		e.log.Error("auroratest: rotating the server certificate", "instance", in.id, "error", err)
	}
	e.mu.Lock()
	in.status = statusAvailable
	e.mu.Unlock()
}
