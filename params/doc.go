// Package params manages Aurora PostgreSQL parameter groups: what the
// parameters are, which values they accept, how changes reach RDS, and the
// reboots that make static changes take effect.
//
// Every feature of the SDK that needs a server setting (pgAudit, pglogical,
// logical replication, TLS) expresses it as []Change and hands it to this
// package, so the rules live in one place.
//
// # Model
//
// Aurora has two kinds of groups ([Kind]): a DB cluster parameter group
// ([ClusterGroup]) applies to every member of a cluster; a DB parameter
// group ([InstanceGroup]) applies to one instance and overrides the
// cluster's value for it. A [Change] sets one parameter, with the RDS
// SDK's apply method (types.ApplyMethodImmediate, only for dynamic
// parameters, or types.ApplyMethodPendingReboot); an empty method picks
// the natural one. [Parameter] is a parameter as the API describes it,
// [Group] a group.
// [ValidateGroupName] applies RDS's naming rules before any call.
//
// # Catalog and validation
//
// The catalog ([Lookup], [Catalog]) knows the parameters the SDK's
// features set, with Aurora PostgreSQL 15's types, ranges, units, allowed
// values, apply types (static or dynamic), levels (cluster-only or both)
// and, where fixed, defaults.
// [Validate] and [ValidateAll] check changes against it; parameters it does
// not know pass through. [ValidateAgainst] checks changes against metadata
// fetched from the API, which knows every parameter of the group's family.
// Errors are *[ValidationError]s naming the parameter and what is allowed.
//
// # Applying changes
//
// [Service] works over [RDSAPI], the subset of *rds.Client it calls:
//
//	svc := params.New(rds.NewFromConfig(cfg))
//	err := svc.Modify(ctx, params.ClusterGroup, "my-cluster-params",
//		params.Change{Name: "rds.logical_replication", Value: "1"},
//		params.Change{Name: "pgaudit.log", Value: "ddl,role"},
//	)
//
// Modify validates everything before the first call, then sends the
// changes as [PlanCalls] splits them: at most 20 per call, immediate and
// pending-reboot changes apart, parameters that must change together in one
// call. Static parameters default to pending-reboot and refuse
// immediate.
// If a call fails, the *[ModifyError] lists exactly which changes were
// applied and which were not.
//
// To change only what differs, plan first, then apply:
//
//	plan, err := svc.Plan(ctx, params.ClusterGroup, group, desired...)
//	// inspect plan.Changes
//	err = svc.Apply(ctx, plan) // no call at all when nothing differs
//
// [Diff] is the pure core of Plan; it compares values as the engine would
// ([EqualValues]: 1 equals on, 64MB equals 65536 for a parameter in kB,
// list order matters). [EquivalentValues] also ignores the order of the
// lists whose order the engine ignores ([Spec.Unordered], such as
// shared_preload_libraries), which is how a drift check compares a group
// with a specification (aurora.Cluster.CheckDrift); [ToBaseUnit] turns
// "64MB" into the unitless value RDS takes, and [Spec.Default] records
// the Aurora default of the catalog parameters whose default is fixed.
//
// # shared_preload_libraries and logical replication
//
// [LibraryList] parses and edits comma-separated library lists, keeping
// order and existing entries, ignoring case; [PreloadChange] turns an edit
// into a Change. [SizeLogicalReplication] computes the parameter changes
// logical replication needs from planned publications, subscriptions and
// slots, never lowering a value.
//
// # Reboots
//
// Static changes leave cluster members "pending-reboot".
// [Service.RebootPending] finds them, reboots readers first and the writer
// last (one at a time by default), and waits with backoff, under the
// caller's context, until each is "available" and "in-sync", reporting
// [pgaurora.Event]s through an optional callback.
package params
