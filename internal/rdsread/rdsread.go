// Package rdsread is the SDK's one reader of clusters and their instances
// from the RDS API: every package that needs a cluster's members reads
// them here, as pgaurora.Instance values.
package rdsread

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/pgaurora/pgaurora"
)

// API is the part of the RDS API the readers call; *rds.Client has it.
type API interface {
	DescribeDBClusters(ctx context.Context, in *rds.DescribeDBClustersInput, optFns ...func(*rds.Options)) (*rds.DescribeDBClustersOutput, error)
	DescribeDBInstances(ctx context.Context, in *rds.DescribeDBInstancesInput, optFns ...func(*rds.Options)) (*rds.DescribeDBInstancesOutput, error)
}

// Cluster describes one DB cluster. A missing cluster gives an error
// matching pgaurora.ErrClusterNotFound (and the RDS fault, when RDS sent
// one).
func Cluster(ctx context.Context, api API, id string) (types.DBCluster, error) {
	out, err := api.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String(id)})
	if err != nil {
		var nf *types.DBClusterNotFoundFault
		if errors.As(err, &nf) {
			return types.DBCluster{}, fmt.Errorf("cluster %s: %w: %w", id, pgaurora.ErrClusterNotFound, err)
		}
		return types.DBCluster{}, fmt.Errorf("describing cluster %s: %w", id, err)
	}
	for _, c := range out.DBClusters {
		if strings.EqualFold(aws.ToString(c.DBClusterIdentifier), id) {
			return c, nil
		}
	}
	return types.DBCluster{}, fmt.Errorf("cluster %s: %w", id, pgaurora.ErrClusterNotFound)
}

// Members describes the instances of cluster c with one paged
// DescribeDBInstances (filtered on the cluster), ordered by promotion
// tier, then identifier. Instances the API lists that are not members of
// c (yet, or any more) are left out.
func Members(ctx context.Context, api API, c types.DBCluster) ([]pgaurora.Instance, error) {
	id := aws.ToString(c.DBClusterIdentifier)
	members := map[string]*types.DBClusterMember{}
	for i, m := range c.DBClusterMembers {
		members[strings.ToLower(aws.ToString(m.DBInstanceIdentifier))] = &c.DBClusterMembers[i]
	}
	var out []pgaurora.Instance
	pages := rds.NewDescribeDBInstancesPaginator(api, &rds.DescribeDBInstancesInput{
		Filters: []types.Filter{{Name: aws.String("db-cluster-id"), Values: []string{id}}},
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describing the instances of cluster %s: %w", id, err)
		}
		for _, di := range page.DBInstances {
			if m, ok := members[strings.ToLower(aws.ToString(di.DBInstanceIdentifier))]; ok {
				out = append(out, FromDB(di, m))
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].PromotionTier != out[j].PromotionTier {
			return out[i].PromotionTier < out[j].PromotionTier
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// Instance describes one DB instance, with its member entry m when known.
// It returns the raw description too, for the fields the model does not
// carry.
func Instance(ctx context.Context, api API, id string, m *types.DBClusterMember) (pgaurora.Instance, types.DBInstance, error) {
	out, err := api.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)})
	if err != nil {
		return pgaurora.Instance{}, types.DBInstance{}, fmt.Errorf("describing instance %s: %w", id, err)
	}
	for _, di := range out.DBInstances {
		if strings.EqualFold(aws.ToString(di.DBInstanceIdentifier), id) {
			return FromDB(di, m), di, nil
		}
	}
	return pgaurora.Instance{}, types.DBInstance{}, fmt.Errorf("describing instance %s: the API did not return it", id)
}

// Member returns c's member entry for instance id, or nil.
func Member(c types.DBCluster, id string) *types.DBClusterMember {
	for i, m := range c.DBClusterMembers {
		if strings.EqualFold(aws.ToString(m.DBInstanceIdentifier), id) {
			return &c.DBClusterMembers[i]
		}
	}
	return nil
}

// FromDB converts an instance description, and its cluster member entry
// when m is not nil, to the SDK's model.
func FromDB(di types.DBInstance, m *types.DBClusterMember) pgaurora.Instance {
	in := pgaurora.Instance{
		ID:            aws.ToString(di.DBInstanceIdentifier),
		ARN:           aws.ToString(di.DBInstanceArn),
		Class:         aws.ToString(di.DBInstanceClass),
		Status:        aws.ToString(di.DBInstanceStatus),
		PromotionTier: int(aws.ToInt32(di.PromotionTier)),
		CACertificate: aws.ToString(di.CACertificateIdentifier),

		AutoMinorVersionUpgrade:    aws.ToBool(di.AutoMinorVersionUpgrade),
		PreferredMaintenanceWindow: aws.ToString(di.PreferredMaintenanceWindow),
		PubliclyAccessible:         aws.ToBool(di.PubliclyAccessible),
		PerformanceInsightsEnabled: aws.ToBool(di.PerformanceInsightsEnabled),
		ResourceID:                 aws.ToString(di.DbiResourceId),
	}
	if m != nil {
		in.Writer = aws.ToBool(m.IsClusterWriter)
		in.PromotionTier = int(aws.ToInt32(m.PromotionTier))
		in.ClusterParameterGroupStatus = aws.ToString(m.DBClusterParameterGroupStatus)
	}
	if ep := di.Endpoint; ep != nil {
		in.Address = aws.ToString(ep.Address)
		in.Port = int(aws.ToInt32(ep.Port))
	}
	for _, g := range di.DBParameterGroups {
		st := aws.ToString(g.ParameterApplyStatus)
		if in.ParameterGroup == "" {
			in.ParameterGroup = aws.ToString(g.DBParameterGroupName)
		}
		if in.ParameterApplyStatus == "" || paramStatusRank(st) > paramStatusRank(in.ParameterApplyStatus) {
			in.ParameterApplyStatus = st
		}
	}
	if cd := di.CertificateDetails; cd != nil {
		in.CertificateValidTill = aws.ToTime(cd.ValidTill)
		if in.CACertificate == "" {
			in.CACertificate = aws.ToString(cd.CAIdentifier)
		}
	}
	return in
}

// paramStatusRank orders parameter statuses from settled to unsettled, so
// that an instance with several groups reports the one that needs
// attention.
func paramStatusRank(s string) int {
	switch s {
	case pgaurora.ParamInSync:
		return 0
	case "applying":
		return 1
	case pgaurora.ParamPendingReboot:
		return 3
	default:
		return 2
	}
}
