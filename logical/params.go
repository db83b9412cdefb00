package logical

import (
	"fmt"

	"github.com/pgaurora/pgaurora/params"
)

// Parameters returns the DB cluster parameter group changes that logical
// replication needs on Aurora PostgreSQL for the planned number of
// publications, subscriptions and CDC slots: rds.logical_replication=1
// (which makes wal_level logical) and max_replication_slots,
// max_wal_senders, max_logical_replication_workers and
// max_worker_processes sized by params.SizeLogicalReplication, never
// lowering a value already set in in.Current.
//
// Count every consumer that holds a slot on this cluster: each
// publication read by a subscription is one slot on the publisher, each
// CDC tool (Debezium, AWS DMS, a wal2json reader) is one more. All the
// changes are static: apply them with params.Service.Modify, then
// RebootPending.
func Parameters(in params.SizingInput) ([]params.Change, error) {
	changes, err := params.SizeLogicalReplication(in)
	if err != nil {
		return nil, fmt.Errorf("logical: sizing the logical replication parameters: %w", err)
	}
	return changes, nil
}
