package pgaurora

import (
	"errors"
	"fmt"
	"time"
)

// Status strings of the RDS API that the SDK reads.
const (
	// StatusAvailable is a DB cluster's or DB instance's status when it
	// serves.
	StatusAvailable = "available"
	// ParamPendingReboot is a parameter group status (of a cluster member
	// or an instance) when changes wait for a reboot.
	ParamPendingReboot = "pending-reboot"
	// ParamInSync is a parameter group status when the running server has
	// every change.
	ParamInSync = "in-sync"
)

// ErrClusterNotFound is matched by errors.Is when a DB cluster does not
// exist. The RDS fault (*types.DBClusterNotFoundFault) stays reachable with
// errors.As.
var ErrClusterNotFound = errors.New("DB cluster not found")

// Instance is one DB instance of an Aurora cluster as the RDS API
// describes it (DescribeDBInstances, with the cluster's member entry):
// the SDK's one model of a cluster member.
type Instance struct {
	// ID and ARN identify the instance.
	ID, ARN string
	// Class is the DB instance class, for example "db.r6g.large".
	Class string
	// Status is the instance status ("available", "rebooting", ...).
	Status string
	// Writer is true for the cluster's writer; PromotionTier is the
	// failover priority (0 is promoted first).
	Writer        bool
	PromotionTier int
	// Address and Port are the instance's own endpoint.
	Address string
	Port    int
	// ParameterGroup is the DB parameter group and ParameterApplyStatus
	// its state ("in-sync", "pending-reboot", "applying"); with several
	// groups, the least settled one's.
	ParameterGroup       string
	ParameterApplyStatus string
	// ClusterParameterGroupStatus is the state of the DB cluster parameter
	// group on this member.
	ClusterParameterGroupStatus string
	// CACertificate is the CA that signed the server certificate
	// (CACertificateIdentifier), and CertificateValidTill the server
	// certificate's expiry; zero when unknown.
	CACertificate        string
	CertificateValidTill time.Time
	// AutoMinorVersionUpgrade is true when RDS applies minor engine
	// upgrades to the instance in its maintenance window
	// (PreferredMaintenanceWindow, "ddd:hh24:mi-ddd:hh24:mi" in UTC).
	AutoMinorVersionUpgrade    bool
	PreferredMaintenanceWindow string
	// PubliclyAccessible is true when the instance's endpoint resolves to
	// a public address.
	PubliclyAccessible bool
	// PerformanceInsightsEnabled is true when Performance Insights
	// collects the instance's activity.
	PerformanceInsightsEnabled bool
	// ResourceID is the instance's DbiResourceId ("db-..."), by which
	// Performance Insights and CloudWatch Logs know it.
	ResourceID string
}

// Role is "writer" or "reader".
func (in Instance) Role() string {
	if in.Writer {
		return "writer"
	}
	return "reader"
}

// PendingReboot reports whether either parameter group of the instance
// waits for a reboot.
func (in Instance) PendingReboot() bool {
	return in.ClusterParameterGroupStatus == ParamPendingReboot || in.ParameterApplyStatus == ParamPendingReboot
}

// InSync reports whether the instance is available with both parameter
// groups in sync: what a reboot waits for.
func (in Instance) InSync() bool {
	return in.Status == StatusAvailable && in.ClusterParameterGroupStatus == ParamInSync &&
		(in.ParameterApplyStatus == "" || in.ParameterApplyStatus == ParamInSync)
}

// String names the instance, its role and status.
func (in Instance) String() string {
	return fmt.Sprintf("%s (%s, %s)", in.ID, in.Role(), in.Status)
}
