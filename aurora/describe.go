package aurora

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
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
	// Writer is the current writer; nil while none is known (during a
	// failover).
	Writer *Instance
	// Readers are the other members, ordered by promotion tier.
	Readers []Instance
}

// Instance is one DB instance of a cluster.
type Instance struct {
	ID            string
	Status        string
	Endpoint      string
	Port          int
	IsWriter      bool
	PromotionTier int
	// ParameterGroup is the DB parameter group and ParameterApplyStatus its
	// state ("in-sync", "pending-reboot", "applying").
	ParameterGroup       string
	ParameterApplyStatus string
	// ClusterParameterGroupStatus is the state of the cluster parameter
	// group on this member.
	ClusterParameterGroupStatus string
	// CACertificate is the CA that signed the server certificate, and
	// CertificateValidTill the server certificate's expiry.
	CACertificate        string
	CertificateValidTill time.Time
}

// Describe reads the cluster and its instances from the RDS API.
func (c *Cluster) Describe(ctx context.Context) (*Description, error) {
	out, err := c.api.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String(c.id)})
	if err != nil {
		var nf *types.DBClusterNotFoundFault
		if errors.As(err, &nf) {
			return nil, fmt.Errorf("%w: %s: %w", ErrClusterNotFound, c.id, err)
		}
		return nil, fmt.Errorf("aurora: describing cluster %s: %w", c.id, err)
	}
	if len(out.DBClusters) != 1 {
		return nil, fmt.Errorf("%w: %s", ErrClusterNotFound, c.id)
	}
	dc := out.DBClusters[0]
	d := &Description{
		ID:                  c.id,
		Status:              aws.ToString(dc.Status),
		Engine:              aws.ToString(dc.Engine),
		EngineVersion:       aws.ToString(dc.EngineVersion),
		Endpoint:            aws.ToString(dc.Endpoint),
		ReaderEndpoint:      aws.ToString(dc.ReaderEndpoint),
		Port:                int(aws.ToInt32(dc.Port)),
		ParameterGroup:      aws.ToString(dc.DBClusterParameterGroup),
		BackupRetentionDays: int(aws.ToInt32(dc.BackupRetentionPeriod)),
	}
	if dc.MasterUserSecret != nil {
		d.MasterUserSecretARN = aws.ToString(dc.MasterUserSecret.SecretArn)
	}
	members := map[string]types.DBClusterMember{}
	for _, m := range dc.DBClusterMembers {
		members[aws.ToString(m.DBInstanceIdentifier)] = m
	}

	var instances []Instance
	pages := rds.NewDescribeDBInstancesPaginator(c.api, &rds.DescribeDBInstancesInput{
		Filters: []types.Filter{{Name: aws.String("db-cluster-id"), Values: []string{c.id}}},
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("aurora: describing the instances of %s: %w", c.id, err)
		}
		for _, di := range page.DBInstances {
			id := aws.ToString(di.DBInstanceIdentifier)
			m, ok := members[id]
			if !ok {
				continue
			}
			in := Instance{
				ID:                          id,
				Status:                      aws.ToString(di.DBInstanceStatus),
				IsWriter:                    aws.ToBool(m.IsClusterWriter),
				PromotionTier:               int(aws.ToInt32(m.PromotionTier)),
				ClusterParameterGroupStatus: aws.ToString(m.DBClusterParameterGroupStatus),
				CACertificate:               aws.ToString(di.CACertificateIdentifier),
			}
			if di.Endpoint != nil {
				in.Endpoint = aws.ToString(di.Endpoint.Address)
				in.Port = int(aws.ToInt32(di.Endpoint.Port))
			}
			if len(di.DBParameterGroups) > 0 {
				in.ParameterGroup = aws.ToString(di.DBParameterGroups[0].DBParameterGroupName)
				in.ParameterApplyStatus = aws.ToString(di.DBParameterGroups[0].ParameterApplyStatus)
			}
			if di.CertificateDetails != nil {
				in.CertificateValidTill = aws.ToTime(di.CertificateDetails.ValidTill)
			}
			instances = append(instances, in)
		}
	}
	sort.Slice(instances, func(i, j int) bool {
		if instances[i].PromotionTier != instances[j].PromotionTier {
			return instances[i].PromotionTier < instances[j].PromotionTier
		}
		return instances[i].ID < instances[j].ID
	})
	for i := range instances {
		if instances[i].IsWriter && d.Writer == nil {
			w := instances[i]
			d.Writer = &w
			continue
		}
		d.Readers = append(d.Readers, instances[i])
	}
	return d, nil
}
