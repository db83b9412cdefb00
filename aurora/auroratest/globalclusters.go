package auroratest

import (
	"context"
	"net/http"
)

// Global databases are not emulated: DescribeGlobalClusters answers that
// none exist (the Terraform provider asks while it reads a cluster).

type describeGlobalClustersIn struct {
	GlobalClusterIdentifier string
	listIn
}

var globalClusterFilters = filterSet[struct{}]{
	"db-cluster-id": func(struct{}) []string { return nil },
	"engine":        func(struct{}) []string { return nil },
}

func (e *Emulator) describeGlobalClusters(ctx context.Context, in *describeGlobalClustersIn) (any, error) {
	if in.GlobalClusterIdentifier != "" {
		return nil, &apiError{http.StatusNotFound, "GlobalClusterNotFoundFault", "Global cluster " + in.GlobalClusterIdentifier + " not found (auroratest emulates no global databases)."}
	}
	if _, _, err := describe(nil, globalClusterFilters, in.Filters, in.pageIn); err != nil {
		return nil, err
	}
	return struct {
		GlobalClusters xEmpty
	}{}, nil
}
