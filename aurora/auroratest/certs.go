package auroratest

import (
	"context"
	"net/http"
	"strings"
	"time"
)

// CA actions: DescribeCertificates, ModifyCertificates,
// DescribePendingMaintenanceActions, ApplyPendingMaintenanceAction, and
// ModifyDBInstance's CACertificateIdentifier (handled in instances.go,
// applied here).

func errCertNotFound(id string) *apiError {
	return &apiError{http.StatusNotFound, "CertificateNotFound", "Certificate not found: " + id}
}

// defaultCA is the CA for new launches.
func (s *state) defaultCA() string {
	if s.caOverride != "" {
		return s.caOverride
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

func (e *Emulator) xCert(st *state, id string) xCertificate {
	ca := e.cas.byID[id]
	x := xCertificate{
		CertificateArn:        "arn:aws:rds:" + e.region + "::cert:" + id,
		CertificateIdentifier: id, CertificateType: "CA", Thumbprint: ca.thumb,
		ValidFrom: ca.cert.NotBefore.UTC().Format(timeFormat), ValidTill: ca.cert.NotAfter.UTC().Format(timeFormat),
	}
	if st.caOverride == id {
		x.CustomerOverride = true
		x.CustomerOverrideValidTill = x.ValidTill
	}
	return x
}

type describeCertificatesIn struct {
	CertificateIdentifier string
	listIn
}

// certFilters are DescribeCertificates' filters: none are emulated.
var certFilters = filterSet[string]{}

func (e *Emulator) describeCertificates(ctx context.Context, in *describeCertificatesIn) (any, error) {
	ids := caIDs
	if id := in.CertificateIdentifier; id != "" {
		if _, ok := e.cas.byID[id]; !ok {
			return nil, errCertNotFound(id)
		}
		ids = []string{id}
	}
	items, next, err := describe(ids, certFilters, in.Filters, in.pageIn)
	if err != nil {
		return nil, err
	}
	st := e.lock()
	defer st.unlock()
	res := xDescribeCertificatesResult{DefaultCertificateForNewLaunches: st.defaultCA(), Marker: next}
	for _, id := range items {
		res.Certificates.Items = append(res.Certificates.Items, e.xCert(st, id))
	}
	return res, nil
}

type modifyCertificatesIn struct {
	CertificateIdentifier  string
	RemoveCustomerOverride bool
}

// modifyCertificates sets or removes the customer override of the CA
// for new launches. Existing instances keep their CA.
func (e *Emulator) modifyCertificates(ctx context.Context, in *modifyCertificatesIn) (any, error) {
	id, remove := in.CertificateIdentifier, in.RemoveCustomerOverride
	if (id == "") == !remove {
		return nil, errInvalidCombination("Specify either CertificateIdentifier or RemoveCustomerOverride=true.")
	}
	st := e.lock()
	defer st.unlock()
	if remove {
		prev := st.caOverride
		st.caOverride = ""
		if prev == "" {
			prev = caRSA2048
		}
		return xModifyCertificatesResult{Certificate: e.xCert(st, prev)}, nil
	}
	if _, ok := e.cas.byID[id]; !ok {
		return nil, errCertNotFound(id)
	}
	st.caOverride = id
	return xModifyCertificatesResult{Certificate: e.xCert(st, id)}, nil
}

type xPendingAction struct {
	Action               string
	AutoAppliedAfterDate string `xml:",omitempty"`
	ForcedApplyDate      string `xml:",omitempty"`
	CurrentApplyDate     string `xml:",omitempty"`
	Description          string
	OptInStatus          string `xml:",omitempty"`
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

type describePendingIn struct {
	ResourceIdentifier string
	listIn
}

// pendingFilters are DescribePendingMaintenanceActions' filters.
var pendingFilters = filterSet[*instance]{
	"db-instance-id": func(in *instance) []string { return []string{in.id, in.arn} },
	"db-cluster-id":  func(in *instance) []string { return []string{in.cluster.id, in.cluster.arn} },
}

// pendingAction is the CA rotation an instance has pending, if any: when
// its CA expires within the rotation window, or a CA change waits for its
// next reboot.
func (e *Emulator) pendingAction(in *instance, now time.Time) (xPendingAction, bool) {
	expiry := e.cas.byID[in.ca].cert.NotAfter
	if in.pendingCA == "" && expiry.Sub(now) > e.caWindow {
		return xPendingAction{}, false
	}
	a := xPendingAction{Action: "ca-certificate-rotation", Description: "Certificate rotation",
		ForcedApplyDate: expiry.UTC().Format(timeFormat)}
	if in.pendingCA != "" {
		a.Description = "Certificate rotation to " + in.pendingCA + " at the next reboot"
		a.CurrentApplyDate = now.UTC().Format(timeFormat)
	} else {
		a.AutoAppliedAfterDate = expiry.Add(-7 * 24 * time.Hour).UTC().Format(timeFormat)
	}
	return a, true
}

// describePendingMaintenanceActions reports ca-certificate-rotation for
// instances whose CA expires within the rotation window, and for
// instances with a CA change waiting for a reboot.
func (e *Emulator) describePendingMaintenanceActions(ctx context.Context, in *describePendingIn) (any, error) {
	resource := in.ResourceIdentifier
	now := time.Now()
	st := e.lock()
	var candidates []*instance
	for _, c := range st.clusterOrder {
		for _, x := range c.members {
			if resource == "" || resource == x.arn {
				candidates = append(candidates, x)
			}
		}
	}
	if err := pendingFilters.check(in.Filters); err != nil {
		st.unlock()
		return nil, err
	}
	var list []xResourcePendingActions
	for _, x := range candidates {
		if !pendingFilters.match(x, in.Filters) {
			continue
		}
		a, ok := e.pendingAction(x, now)
		if !ok {
			continue
		}
		var r xResourcePendingActions
		r.ResourceIdentifier = x.arn
		r.PendingMaintenanceActionDetails.Items = []xPendingAction{a}
		list = append(list, r)
	}
	st.unlock()
	if resource != "" && len(list) == 0 && !strings.HasPrefix(resource, e.arn("db", "")) {
		return nil, &apiError{http.StatusNotFound, "ResourceNotFoundFault", "Resource " + resource + " not found."}
	}
	items, next, err := page(list, in.pageIn)
	if err != nil {
		return nil, err
	}
	var res xDescribePendingMaintenanceActionsResult
	res.Marker, res.PendingMaintenanceActions.Items = next, items
	return res, nil
}

type applyPendingIn struct {
	ResourceIdentifier string `rds:",required"`
	ApplyAction        string `rds:",required"`
	OptInType          string `rds:",required"`
}

// applyPendingMaintenanceAction opts an instance in to its CA rotation:
// at once ("immediate", a restart with the new certificate), at the next
// reboot ("next-maintenance"), or not ("undo-opt-in"). The rotation goes
// to the CA already chosen for the instance, else to the default for new
// launches.
func (e *Emulator) applyPendingMaintenanceAction(ctx context.Context, in *applyPendingIn) (any, error) {
	if in.ApplyAction != "ca-certificate-rotation" {
		return nil, errInvalidValue("Invalid ApplyAction %q: auroratest has ca-certificate-rotation pending only.", in.ApplyAction)
	}
	switch in.OptInType {
	case "immediate", "next-maintenance", "undo-opt-in":
	default:
		return nil, errInvalidValue("Invalid OptInType %q: use immediate, next-maintenance or undo-opt-in.", in.OptInType)
	}
	st := e.lock()
	defer st.unlock()
	inst, ok := st.instance(e, in.ResourceIdentifier)
	if !ok || !strings.HasPrefix(in.ResourceIdentifier, e.arn("db", "")) {
		return nil, &apiError{http.StatusNotFound, "ResourceNotFoundFault", "Resource " + in.ResourceIdentifier + " not found."}
	}
	now := time.Now()
	a, pending := e.pendingAction(inst, now)
	if !pending {
		return nil, errInvalidValue("DB instance %s has no pending ca-certificate-rotation.", inst.id)
	}
	target := inst.pendingCA
	if target == "" {
		target = st.defaultCA()
	}
	var r xResourcePendingActions
	r.ResourceIdentifier = inst.arn
	switch in.OptInType {
	case "undo-opt-in":
		inst.pendingCA = ""
		a.OptInStatus = "none"
	case "next-maintenance":
		inst.pendingCA = target
		a.OptInStatus = "next-maintenance"
	case "immediate":
		if s := inst.busyStatus(statusAvailable); s != "" {
			return nil, errInvalidInstanceState(inst.id, s)
		}
		inst.status = statusModifying
		a.OptInStatus = "immediate"
		e.goBackground(st, func(ctx context.Context) { e.rotateCA(ctx, inst, target, true) })
	}
	r.PendingMaintenanceActionDetails.Items = []xPendingAction{a}
	return struct{ ResourcePendingMaintenanceActions xResourcePendingActions }{r}, nil
}

// rotateCA applies a CA change at once: a new server certificate, then a
// restart (CertificateRotationRestart, the default) or a reload.
func (e *Emulator) rotateCA(ctx context.Context, in *instance, caID string, restart bool) {
	if restart {
		st := e.lock()
		in.pendingCA = caID
		in.status = statusRebooting
		st.unlock()
		e.reboot(ctx, in)
		return
	}
	in.ops.lock()
	defer in.ops.unlock()
	st := e.lock()
	err := e.issue(st, in, caID)
	srv, t := in.server, in.tls
	st.unlock()
	if err == nil && srv != nil {
		if err = srv.SetTLS(t); err == nil && srv.Running() {
			err = reloadAndWait(ctx, srv)
		}
	}
	if err != nil && ctx.Err() == nil {
		e.log.Error("auroratest: rotating the server certificate", "instance", in.id, "error", err)
	}
	st = e.lock()
	in.status = statusAvailable
	st.unlock()
}
