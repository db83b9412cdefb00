package aurora

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/sslcert"
)

// Certs is the client for the cluster's TLS certificates: the RDS CA
// catalog, CA rotation plans and their execution, and the audit of which
// client sessions use TLS. Get it with Cluster.Certs.
type Certs struct{ c *Cluster }

// Certs returns the certificates client. It is cheap and holds no state.
func (c *Cluster) Certs() *Certs { return &Certs{c: c} }

// Catalog reads the CAs the account can use in the Region from
// DescribeCertificates (every page), with their exact thumbprints and
// validity and the default for new launches.
func (k *Certs) Catalog(ctx context.Context) (*sslcert.Catalog, error) {
	if err := k.c.usable(); err != nil {
		return nil, err
	}
	cat, err := sslcert.RefreshCatalog(ctx, k.c.api)
	if err != nil {
		return nil, fmt.Errorf("aurora: reading the CA catalog: %w", err)
	}
	return cat, nil
}

// CertsPlanOptions configures Certs.Plan. A nil *CertsPlanOptions uses
// the defaults.
type CertsPlanOptions struct {
	// Catalog names the CAs and recognises their certificates. Nil reads
	// it from the API (Certs.Catalog), so CAs match by thumbprint.
	Catalog *sslcert.Catalog
	// Force plans the rotation even when the trust store would not
	// survive it; the plan then carries its Problems.
	Force bool
	// ExpiryWarning is how close to expiry a certificate gets a warning;
	// zero means 30 days.
	ExpiryWarning time.Duration
}

// Plan reads the cluster's members (DescribeDBClusters,
// DescribeDBInstances, DescribePendingMaintenanceActions) and plans their
// rotation to targetCA: readers first, the writer last, instances already
// on the target left out. trust is the trust store of the clients that
// must survive the rotation; nil means the Cluster's own CA bundle
// (WithCABundle). A plan the trust store would not survive comes back with
// an error matching sslcert.ErrUnsafePlan, unless opts.Force is set.
func (k *Certs) Plan(ctx context.Context, targetCA string, trust *sslcert.TrustStore, opts *CertsPlanOptions) (*sslcert.Plan, error) {
	if opts == nil {
		opts = &CertsPlanOptions{}
	}
	if targetCA == "" {
		return nil, errors.New("aurora: target CA is empty: name an RDS CA such as " + sslcert.CARSA2048G1)
	}
	if err := k.c.usable(); err != nil {
		return nil, err
	}
	cat := opts.Catalog
	if cat == nil {
		var err error
		if cat, err = k.Catalog(ctx); err != nil {
			return nil, err
		}
	}
	if trust == nil {
		trust = k.c.cfg.trust
	}
	if trust != nil {
		trust = trust.WithCatalog(cat)
	}
	plan, err := sslcert.PlanRotation(ctx, k.c.api, k.c.id, targetCA, &sslcert.PlanOptions{
		TrustStore: trust, Catalog: cat, Force: opts.Force, ExpiryWarning: opts.ExpiryWarning,
	})
	if err != nil {
		return plan, fmt.Errorf("aurora: planning the rotation of %s to %s: %w", k.c.id, targetCA, err)
	}
	return plan, nil
}

// Execute carries out a rotation plan with ModifyDBInstance, one instance
// at a time, readers first and the writer last, waiting for each to be
// available on the new CA and checking the certificate its server presents
// (see sslcert.Execute). Instances already on the target are skipped, so
// running a plan again after a failure resumes it.
func (k *Certs) Execute(ctx context.Context, plan *sslcert.Plan, opts *sslcert.ExecuteOptions) (*sslcert.Result, error) {
	res, err := sslcert.Execute(ctx, k.c.api, plan, opts)
	if err != nil {
		return res, fmt.Errorf("aurora: rotating %s: %w", k.c.id, err)
	}
	return res, nil
}

// AuditSessions lists the client sessions of the writer, with whether each
// uses TLS (pg_stat_ssl joined with pg_stat_activity): the sessions to fix
// before a rotation or before requiring TLS.
func (k *Certs) AuditSessions(ctx context.Context, opts *sslcert.AuditOptions) (*sslcert.Audit, error) {
	a, err := sslcert.AuditSessions(ctx, k.c.SQL(), opts)
	if err != nil {
		return nil, fmt.Errorf("aurora: auditing the sessions of %s: %w", k.c.id, err)
	}
	return a, nil
}

// RotateCAOptions configures RotateCA. A nil *RotateCAOptions uses the
// defaults.
type RotateCAOptions struct {
	// Catalog names the CAs; nil reads it from the API.
	Catalog *sslcert.Catalog
	// Restart is CertificateRotationRestart: nil lets RDS restart each
	// instance to load its new certificate; false asks for a rotation
	// without restart where the engine supports it.
	Restart *bool
	// Wait says how the steps wait for RDS and the servers; zero fields
	// take the Cluster's defaults (WithWait).
	Wait pgaurora.Wait
	// Progress, when set, receives an event as each step completes, and
	// the events of the operations the steps run (reboots, rotations).
	Progress pgaurora.ProgressFunc
}

// RotateCA moves every instance of the cluster to the RDS CA targetCA, the
// documented way:
//
//  1. plan: refuse, before anything changes, when trust (the clients'
//     trust store; nil means the Cluster's own CA bundle) would not trust
//     the new server certificates, or when the Cluster's own connections
//     would not;
//  2. rotate the instances not yet on targetCA, readers first and the
//     writer last, each verified with a TLS handshake against trust;
//  3. check that the writer accepts the Cluster's verify-full connections.
//
// A second run finds every instance on targetCA and changes nothing. The
// refusal is a *WorkflowError matching sslcert.ErrUnsafePlan; a rotation
// that stops part way wraps a *sslcert.RotationError naming the instances
// rotated.
func (c *Cluster) RotateCA(ctx context.Context, targetCA string, trust *sslcert.TrustStore, opts *RotateCAOptions) (*Report, error) {
	if opts == nil {
		opts = &RotateCAOptions{}
	}
	const name = "RotateCA"
	if targetCA == "" {
		return nil, inputFailure(name, errors.New("target CA is empty: name an RDS CA such as "+sslcert.CAECC384G1))
	}
	w := c.newWorkflow(name, opts.Wait, opts.Progress)
	if trust == nil {
		trust = c.cfg.trust
	}
	var plan *sslcert.Plan
	err := w.step(ctx, "plan the rotation to "+targetCA, func(ctx context.Context) (bool, string, error) {
		var err error
		plan, err = c.Certs().Plan(ctx, targetCA, trust, &CertsPlanOptions{Catalog: opts.Catalog})
		if err != nil {
			return false, "", err
		}
		// The Cluster's own verify-full connections must survive too.
		if own := c.cfg.trust; own != nil && !c.cfg.plaintext {
			if !own.WithCatalog(plan.Catalog).TrustsCA(targetCA, time.Time{}) {
				return false, "", fmt.Errorf("%w: the Cluster's own CA bundle (WithCABundle) does not trust %s: its connections would fail after the rotation", sslcert.ErrUnsafePlan, targetCA)
			}
		}
		steps := plan.Steps()
		if len(steps) == 0 {
			return false, fmt.Sprintf("all %d instances already use %s", len(plan.Instances), targetCA), nil
		}
		detail := "rotate " + strings.Join(steps, ", ") + " (writer last)"
		if len(plan.Warnings) > 0 {
			detail += "; warnings: " + strings.Join(plan.Warnings, "; ")
		}
		return false, detail, nil
	})
	if err != nil {
		return nil, err
	}

	err = w.step(ctx, "rotate the instances to "+targetCA, func(ctx context.Context) (bool, string, error) {
		if len(plan.Steps()) == 0 {
			return false, "nothing to rotate", nil
		}
		res, err := c.Certs().Execute(ctx, plan, &sslcert.ExecuteOptions{
			Restart:    opts.Restart,
			Progress:   w.progress,
			Wait:       w.wait,
			TrustStore: plan.TrustStore,
		})
		if err != nil {
			return res != nil && len(res.Rotated) > 0, "", err
		}
		if len(res.Rotated) == 0 {
			return false, "every instance already used " + targetCA, nil
		}
		var checked []string
		for _, id := range res.Rotated {
			if ch := res.Checks[id]; ch != nil {
				checked = append(checked, fmt.Sprintf("%s presents %s (verified=%v)", id, ch.CAIdentifier, ch.Verified))
			}
		}
		detail := "rotated " + strings.Join(res.Rotated, ", ")
		if len(checked) > 0 {
			detail += "; " + strings.Join(checked, "; ")
		}
		return true, detail, nil
	})
	if err != nil {
		return nil, err
	}

	if c.cfg.creds != nil {
		err = w.step(ctx, "check the writer connection", func(ctx context.Context) (bool, string, error) {
			if err := c.awaitWriter(ctx, w.wait); err != nil {
				return false, "", err
			}
			mode := "verify-full"
			if c.cfg.plaintext {
				mode = "plain text"
			}
			return false, "the writer accepts " + mode + " connections", nil
		})
		if err != nil {
			return nil, err
		}
	}
	return w.report, nil
}
