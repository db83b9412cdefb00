package aurora

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/internal/rdsread"
)

// Description is a DB cluster as the RDS API describes it, with its members.
type Description struct {
	ID            string
	Status        string
	Engine        string
	EngineVersion string
	// Endpoint and ReaderEndpoint are the cluster's writer and reader DNS
	// names (addresses on the emulator); both listen on Port.
	Endpoint       string
	ReaderEndpoint string
	Port           int
	// ParameterGroup is the DB cluster parameter group.
	ParameterGroup      string
	BackupRetentionDays int
	// MasterUserSecretARN is the AWS Secrets Manager secret that holds the
	// master user's password when RDS manages it
	// (ManageMasterUserPassword); empty otherwise. Pass it to
	// SecretsManagerSecret.
	MasterUserSecretARN string
	// MasterUsername is the cluster's master user.
	MasterUsername string
	// StorageEncrypted is true when the cluster's storage is encrypted at
	// rest, with the KMS key KMSKeyID.
	StorageEncrypted bool
	KMSKeyID         string
	// DeletionProtection is true when DeleteDBCluster is refused.
	DeletionProtection bool
	// IAMDatabaseAuthentication is true when IAM authentication tokens
	// are accepted as passwords (for members of rds_iam).
	IAMDatabaseAuthentication bool
	// LogExports are the logs published to CloudWatch Logs ("postgresql",
	// "iam-db-auth-error", ...).
	LogExports []string
	// PreferredMaintenanceWindow and PreferredBackupWindow are the
	// cluster's windows, in UTC ("ddd:hh24:mi-ddd:hh24:mi" and
	// "hh24:mi-hh24:mi").
	PreferredMaintenanceWindow string
	PreferredBackupWindow      string
	// AutoMinorVersionUpgrade is the cluster-level setting; for Aurora
	// provisioned clusters the instances' own settings
	// (pgaurora.Instance.AutoMinorVersionUpgrade) decide.
	AutoMinorVersionUpgrade bool
	// PerformanceInsightsEnabled is the cluster-level setting; see the
	// instances' own for provisioned clusters.
	PerformanceInsightsEnabled bool
	// StorageType is "aurora" (Standard) or "aurora-iopt1" (I/O-Optimized).
	StorageType string
	// EngineLifecycleSupport is "open-source-rds-extended-support" or
	// "open-source-rds-extended-support-disabled".
	EngineLifecycleSupport string
	// Writer is the current writer; nil while none is known (during a
	// failover).
	Writer *pgaurora.Instance
	// Readers are the other members, ordered by promotion tier.
	Readers []pgaurora.Instance
}

// Describe reads the cluster and its instances from the RDS API.
func (c *Cluster) Describe(ctx context.Context) (*Description, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	dc, err := rdsread.Cluster(ctx, c.api, c.id)
	if err != nil {
		return nil, fmt.Errorf("aurora: %w", err)
	}
	return c.describeFrom(ctx, dc)
}

// describeFrom is Describe given the cluster as DescribeDBClusters
// returned it (by Describe, or by a Fleet's listing): the mapping, then
// the members' read.
func (c *Cluster) describeFrom(ctx context.Context, dc types.DBCluster) (*Description, error) {
	d := descriptionOf(dc)
	d.ID = c.id
	instances, err := rdsread.Members(ctx, c.api, dc)
	if err != nil {
		return nil, fmt.Errorf("aurora: %w", err)
	}
	for i := range instances {
		if instances[i].Writer && d.Writer == nil {
			w := instances[i]
			d.Writer = &w
			continue
		}
		d.Readers = append(d.Readers, instances[i])
	}
	return d, nil
}

// descriptionOf maps a cluster as DescribeDBClusters lists it, without
// its members (Writer and Readers stay empty).
func descriptionOf(dc types.DBCluster) *Description {
	d := &Description{
		ID:                  aws.ToString(dc.DBClusterIdentifier),
		Status:              aws.ToString(dc.Status),
		Engine:              aws.ToString(dc.Engine),
		EngineVersion:       aws.ToString(dc.EngineVersion),
		Endpoint:            aws.ToString(dc.Endpoint),
		ReaderEndpoint:      aws.ToString(dc.ReaderEndpoint),
		Port:                int(aws.ToInt32(dc.Port)),
		ParameterGroup:      aws.ToString(dc.DBClusterParameterGroup),
		BackupRetentionDays: int(aws.ToInt32(dc.BackupRetentionPeriod)),

		MasterUsername:             aws.ToString(dc.MasterUsername),
		StorageEncrypted:           aws.ToBool(dc.StorageEncrypted),
		KMSKeyID:                   aws.ToString(dc.KmsKeyId),
		DeletionProtection:         aws.ToBool(dc.DeletionProtection),
		IAMDatabaseAuthentication:  aws.ToBool(dc.IAMDatabaseAuthenticationEnabled),
		LogExports:                 dc.EnabledCloudwatchLogsExports,
		PreferredMaintenanceWindow: aws.ToString(dc.PreferredMaintenanceWindow),
		PreferredBackupWindow:      aws.ToString(dc.PreferredBackupWindow),
		AutoMinorVersionUpgrade:    aws.ToBool(dc.AutoMinorVersionUpgrade),
		PerformanceInsightsEnabled: aws.ToBool(dc.PerformanceInsightsEnabled),
		StorageType:                aws.ToString(dc.StorageType),
		EngineLifecycleSupport:     aws.ToString(dc.EngineLifecycleSupport),
	}
	if dc.MasterUserSecret != nil {
		d.MasterUserSecretARN = aws.ToString(dc.MasterUserSecret.SecretArn)
	}
	return d
}
