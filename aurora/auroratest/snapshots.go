package auroratest

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/internal/pgserver"
	"github.com/pgaurora/pgaurora/internal/wait"
)

// DB cluster snapshots and restores, with real data. A snapshot is a copy
// of the cluster's data: a base backup of its running writer, or a copy of
// the data of a stopped cluster or of one without instances. Restoring one
// makes a new cluster that holds exactly that data; its first
// CreateDBInstance starts the writer on it. Every cluster's writers
// archive their WAL (archive_mode on, archive_command copying into the
// cluster's archive), and its automated snapshots are base backups, so
// RestoreDBClusterToPointInTime replays the archive from the latest base
// backup before the time asked for up to that time (recovery_target_time).

const (
	snapshotManual    = "manual"
	snapshotAutomated = "automated"
)

// snapshot is one DB cluster snapshot. Its fields are part of the state
// (see state.go); the data in dir/data is written once, before the
// snapshot becomes available.
type snapshot struct {
	id, arn        string
	kind           string // manual or automated
	status         string
	created        time.Time
	clusterID      string
	clusterCreated time.Time
	resourceID     string // the cluster's DbClusterResourceId
	engineVersion  string
	masterUser     string
	masterPassword string
	databaseName   string
	port           int
	encrypted      bool
	kmsKeyID       string
	iamAuth        bool
	dir            string
	tags           tagList
}

func errSnapshotNotFound(id string) *apiError {
	return &apiError{http.StatusNotFound, "DBClusterSnapshotNotFoundFault", "DBClusterSnapshot " + id + " not found."}
}

// snapshot finds a snapshot by identifier or ARN.
func (s *state) snapshot(e *Emulator, id string) (*snapshot, bool) {
	id = strings.TrimPrefix(id, e.arn("cluster-snapshot", ""))
	snap, ok := s.snapshots[strings.ToLower(id)]
	return snap, ok
}

// newSnapshot records a snapshot of c (status creating); its data is
// still to be written to its dir.
func (e *Emulator) newSnapshot(st *state, c *cluster, id, kind string, tags tagList) *snapshot {
	now := time.Now().UTC()
	s := &snapshot{
		id: id, arn: e.arn("cluster-snapshot", id), kind: kind, status: statusCreating, created: now,
		clusterID: c.id, clusterCreated: c.created, resourceID: c.resourceID, engineVersion: c.engineVersion,
		masterUser: c.masterUser, masterPassword: c.masterPassword, databaseName: c.databaseName, port: c.port,
		encrypted: c.storageEncrypted, kmsKeyID: c.kmsKeyID, iamAuth: c.iamAuth,
		dir: filepath.Join(e.dir, "snapshots", strings.NewReplacer(":", "_").Replace(id)), tags: tags,
	}
	st.snapshots[strings.ToLower(id)] = s
	st.snapshotOrder = append(st.snapshotOrder, s)
	return s
}

// takeData writes a snapshot's data: a base backup of the cluster's
// running writer, or a copy of its stopped data. Callers hold the
// writer's opLock (when it has one) or the cluster has no instance.
func (e *Emulator) takeData(ctx context.Context, c *cluster, snap *snapshot) error {
	st := e.lock()
	var srv *pgserver.Server
	if w := c.writer(); w != nil {
		srv = w.server
	}
	hasData := c.hasData
	st.unlock()
	switch {
	case srv != nil && srv.Running():
		return srv.Backup(ctx, snap.dir)
	case srv != nil:
		return pgserver.CopyTree(ctx, srv.DataDir(), filepath.Join(snap.dir, "data"))
	case hasData:
		return pgserver.CopyTree(ctx, filepath.Join(c.storageDir(), "data"), filepath.Join(snap.dir, "data"))
	}
	return fmt.Errorf("cluster %s holds no data yet", c.id)
}

// automatedBackup takes one of the cluster's automated snapshots from its
// running writer: the base backup that point-in-time restores start from.
func (e *Emulator) automatedBackup(ctx context.Context, c *cluster, srv *pgserver.Server) error {
	st := e.lock()
	id := "rds:" + c.id + "-" + time.Now().UTC().Format("2006-01-02-15-04-05.000")
	snap := e.newSnapshot(st, c, id, snapshotAutomated, nil)
	st.unlock()
	err := srv.Backup(ctx, snap.dir)
	st = e.lock()
	defer st.unlock()
	if err != nil {
		e.dropSnapshot(st, snap)
		return err
	}
	snap.status, snap.created = statusAvailable, time.Now().UTC()
	c.backups = append(c.backups, snap)
	return nil
}

// dropSnapshot forgets a snapshot and removes its data.
func (e *Emulator) dropSnapshot(st *state, snap *snapshot) {
	delete(st.snapshots, strings.ToLower(snap.id))
	st.snapshotOrder = slices.DeleteFunc(st.snapshotOrder, func(s *snapshot) bool { return s == snap })
	_ = os.RemoveAll(snap.dir)
}

type createSnapshotIn struct {
	DBClusterSnapshotIdentifier string `rds:",required"`
	DBClusterIdentifier         string `rds:",required"`
	tagsIn
}

func (e *Emulator) createDBClusterSnapshot(ctx context.Context, in *createSnapshotIn) (any, error) {
	id := strings.ToLower(in.DBClusterSnapshotIdentifier)
	if err := validName("DBClusterSnapshotIdentifier", id, 255); err != nil {
		return nil, err
	}
	tags, err := newTagList(in.Tags)
	if err != nil {
		return nil, err
	}
	st := e.lock()
	defer st.unlock()
	c, err := st.availableCluster(e, in.DBClusterIdentifier)
	if err != nil {
		return nil, err
	}
	if _, ok := st.snapshots[id]; ok {
		return nil, errSnapshotExists(id)
	}
	if !c.hasData {
		return nil, &apiError{http.StatusBadRequest, "InvalidDBClusterStateFault", "DBCluster " + c.id + " has no data to snapshot yet: create its first DB instance."}
	}
	if len(tags) == 0 && c.copyTagsToSnapshot {
		tags = c.tags
	}
	snap := e.newSnapshot(st, c, id, snapshotManual, tags)
	x := e.xSnapshot(snap)
	e.goBackground(st, func(ctx context.Context) {
		var w *instance
		st := e.lock()
		w = c.writer()
		st.unlock()
		if w != nil {
			w.ops.lock()
			defer w.ops.unlock()
		}
		err := e.takeData(ctx, c, snap)
		st = e.lock()
		defer st.unlock()
		if err != nil {
			if ctx.Err() == nil {
				e.log.Error("auroratest: taking a snapshot", "snapshot", snap.id, "error", err)
			}
			snap.status = statusFailed
			return
		}
		snap.status = statusAvailable
		e.event(st, sourceSnapshot, snap.id, "backup", "Manual cluster snapshot created")
	})
	return xSnapshotResult{DBClusterSnapshot: x}, nil
}

func errSnapshotState(s *snapshot) *apiError {
	return &apiError{http.StatusBadRequest, "InvalidDBClusterSnapshotStateFault", "DBClusterSnapshot " + s.id + " is not available (it is " + s.status + ")."}
}

func errSnapshotExists(id string) *apiError {
	return &apiError{http.StatusBadRequest, "DBClusterSnapshotAlreadyExistsFault", "Cannot create the cluster snapshot because one with the identifier " + id + " already exists."}
}

type describeSnapshotsIn struct {
	DBClusterIdentifier         string
	DBClusterSnapshotIdentifier string
	SnapshotType                string
	IncludeShared               bool
	IncludePublic               bool
	DbClusterResourceId         string
	listIn
}

// snapshotFilters are DescribeDBClusterSnapshots' filters.
var snapshotFilters = filterSet[*snapshot]{
	"db-cluster-id":          func(s *snapshot) []string { return []string{s.clusterID} },
	"db-cluster-snapshot-id": func(s *snapshot) []string { return []string{s.id, s.arn} },
	"snapshot-type":          func(s *snapshot) []string { return []string{s.kind} },
	"engine":                 func(s *snapshot) []string { return []string{engineName} },
}

func (e *Emulator) describeDBClusterSnapshots(ctx context.Context, in *describeSnapshotsIn) (any, error) {
	switch in.SnapshotType {
	case "", snapshotManual, snapshotAutomated, "shared", "public", "awsbackup":
	default:
		return nil, errInvalidValue("Invalid SnapshotType %q: use automated, manual, shared, public or awsbackup.", in.SnapshotType)
	}
	st := e.lock()
	defer st.unlock()
	var list []*snapshot
	if in.DBClusterSnapshotIdentifier != "" {
		s, ok := st.snapshot(e, in.DBClusterSnapshotIdentifier)
		if !ok {
			return nil, errSnapshotNotFound(in.DBClusterSnapshotIdentifier)
		}
		list = []*snapshot{s}
	} else {
		clusterID := strings.ToLower(strings.TrimPrefix(in.DBClusterIdentifier, e.arn("cluster", "")))
		for _, s := range st.snapshotOrder {
			if clusterID != "" && s.clusterID != clusterID || in.DbClusterResourceId != "" && s.resourceID != in.DbClusterResourceId {
				continue
			}
			if in.SnapshotType != "" && s.kind != in.SnapshotType {
				continue
			}
			list = append(list, s)
		}
	}
	items, next, err := describe(list, snapshotFilters, in.Filters, in.pageIn)
	if err != nil {
		return nil, err
	}
	var res xDescribeSnapshotsResult
	res.Marker = next
	for _, s := range items {
		res.DBClusterSnapshots.Items = append(res.DBClusterSnapshots.Items, e.xSnapshot(s))
	}
	return res, nil
}

type copySnapshotIn struct {
	SourceDBClusterSnapshotIdentifier string `rds:",required"`
	TargetDBClusterSnapshotIdentifier string `rds:",required"`
	CopyTags                          bool
	KmsKeyId                          string
	tagsIn
}

func (e *Emulator) copyDBClusterSnapshot(ctx context.Context, in *copySnapshotIn) (any, error) {
	id := strings.ToLower(in.TargetDBClusterSnapshotIdentifier)
	if err := validName("TargetDBClusterSnapshotIdentifier", id, 255); err != nil {
		return nil, err
	}
	tags, err := newTagList(in.Tags)
	if err != nil {
		return nil, err
	}
	st := e.lock()
	defer st.unlock()
	src, ok := st.snapshot(e, in.SourceDBClusterSnapshotIdentifier)
	if !ok {
		return nil, errSnapshotNotFound(in.SourceDBClusterSnapshotIdentifier)
	}
	if _, ok := st.snapshots[id]; ok {
		return nil, errSnapshotExists(id)
	}
	if src.status != statusAvailable {
		return nil, errSnapshotState(src)
	}
	if in.KmsKeyId != "" && !src.encrypted {
		return nil, errInvalidCombination("KmsKeyId can be given only to copy an encrypted snapshot.")
	}
	if in.CopyTags {
		if tags, err = src.tags.with(xTagsIn(tags)); err != nil {
			return nil, err
		}
	}
	cp := *src
	cp.id, cp.arn, cp.kind, cp.status, cp.created, cp.tags = id, e.arn("cluster-snapshot", id), snapshotManual, statusCreating, time.Now().UTC(), tags
	cp.dir = filepath.Join(e.dir, "snapshots", id)
	if in.KmsKeyId != "" {
		cp.kmsKeyID = e.kmsKeyARNFor(in.KmsKeyId)
	}
	snap := &cp
	st.snapshots[id] = snap
	st.snapshotOrder = append(st.snapshotOrder, snap)
	x := e.xSnapshot(snap)
	from := src.dir
	e.goBackground(st, func(ctx context.Context) {
		err := pgserver.CopyTree(ctx, from, snap.dir)
		st := e.lock()
		defer st.unlock()
		if err != nil {
			snap.status = statusFailed
			return
		}
		snap.status = statusAvailable
	})
	return xSnapshotResult{DBClusterSnapshot: x}, nil
}

// xTagsIn turns tags back into request tags, to merge them into others.
func xTagsIn(l tagList) []tagIn {
	out := make([]tagIn, len(l))
	for i, t := range l {
		out[i] = tagIn{Key: t.key, Value: t.value}
	}
	return out
}

type snapshotIDIn struct {
	DBClusterSnapshotIdentifier string `rds:",required"`
}

func (e *Emulator) deleteDBClusterSnapshot(ctx context.Context, in *snapshotIDIn) (any, error) {
	st := e.lock()
	defer st.unlock()
	s, ok := st.snapshot(e, in.DBClusterSnapshotIdentifier)
	if !ok {
		return nil, errSnapshotNotFound(in.DBClusterSnapshotIdentifier)
	}
	if s.kind != snapshotManual {
		return nil, &apiError{http.StatusBadRequest, "InvalidDBClusterSnapshotStateFault", "Only manual snapshots may be deleted: " + s.id + " is automated."}
	}
	if s.status == statusCreating {
		return nil, &apiError{http.StatusBadRequest, "InvalidDBClusterSnapshotStateFault", "DBClusterSnapshot " + s.id + " is being created."}
	}
	x := e.xSnapshot(s)
	x.Status = "deleted"
	e.dropSnapshot(st, s)
	return xSnapshotResult{DBClusterSnapshot: x}, nil
}

// restoreIn is what both restores accept for the new cluster.
type restoreIn struct {
	DBClusterIdentifier             string `rds:",required"`
	Port                            *int
	DBClusterParameterGroupName     string
	DBSubnetGroupName               string
	VpcSecurityGroupIds             []string `rds:",list=VpcSecurityGroupId"`
	DeletionProtection              bool
	EnableIAMDatabaseAuthentication bool
	EnableCloudwatchLogsExports     []string `rds:",list=member"`
	KmsKeyId                        string
	CopyTagsToSnapshot              bool
	EngineLifecycleSupport          string
	tagsIn
}

type restoreFromSnapshotIn struct {
	SnapshotIdentifier string `rds:",required"`
	Engine             string `rds:",required"`
	EngineVersion      string
	EngineMode         string
	DatabaseName       string
	AvailabilityZones  []string `rds:",list=AvailabilityZone"`
	restoreIn
}

type restoreToTimeIn struct {
	SourceDBClusterIdentifier string `rds:",required"`
	RestoreToTime             *time.Time
	UseLatestRestorableTime   bool
	RestoreType               string
	restoreIn
}

// newRestoredCluster validates the request and records the new cluster
// (status creating) with the source's master user and data properties.
func (e *Emulator) newRestoredCluster(st *state, in *restoreIn, engineVersion, masterUser, masterPassword, dbName string, encrypted bool, kmsKeyID string) (*cluster, error) {
	spec := clusterCreate{
		id: in.DBClusterIdentifier, engineVersion: engineVersion, masterUser: masterUser, masterPassword: masterPassword,
		databaseName: dbName, port: in.Port, clusterGroup: in.DBClusterParameterGroupName, subnetGroup: in.DBSubnetGroupName,
		securityGroups: in.VpcSecurityGroupIds, deletionProtection: in.DeletionProtection, iamAuth: in.EnableIAMDatabaseAuthentication,
		logExports: in.EnableCloudwatchLogsExports, encrypted: encrypted || in.KmsKeyId != "", kmsKeyID: in.KmsKeyId,
		copyTags: in.CopyTagsToSnapshot, lifecycle: in.EngineLifecycleSupport, tags: in.Tags,
	}
	if spec.kmsKeyID == "" {
		spec.kmsKeyID = kmsKeyID
	}
	c, err := e.createCluster(st, spec)
	if err != nil {
		return nil, err
	}
	c.hasData = true
	return c, nil
}

func (e *Emulator) restoreDBClusterFromSnapshot(ctx context.Context, in *restoreFromSnapshotIn) (any, error) {
	if in.Engine != engineName {
		return nil, errInvalidValue("Invalid Engine %q: auroratest emulates %s.", in.Engine, engineName)
	}
	if in.EngineMode != "" && in.EngineMode != "provisioned" {
		return nil, errInvalidValue("Invalid EngineMode %q: auroratest emulates provisioned clusters.", in.EngineMode)
	}
	if in.DatabaseName != "" {
		return nil, errInvalidCombination("DatabaseName cannot be given when restoring: the cluster has the snapshot's databases.")
	}
	st := e.lock()
	defer st.unlock()
	snap, ok := st.snapshot(e, in.SnapshotIdentifier)
	if !ok {
		return nil, errSnapshotNotFound(in.SnapshotIdentifier)
	}
	if snap.status != statusAvailable {
		return nil, errSnapshotState(snap)
	}
	version := snap.engineVersion
	if in.EngineVersion != "" {
		if familyFor(in.EngineVersion) != familyFor(snap.engineVersion) {
			return nil, errInvalidCombination("EngineVersion %s is not of the snapshot's major version %s: auroratest restores within a major version.", in.EngineVersion, snap.engineVersion)
		}
		version = in.EngineVersion
	}
	c, err := e.newRestoredCluster(st, &in.restoreIn, version, snap.masterUser, snap.masterPassword, snap.databaseName, snap.encrypted, snap.kmsKeyID)
	if err != nil {
		return nil, err
	}
	x := e.xCluster(st, c)
	from := filepath.Join(snap.dir, "data")
	e.goBackground(st, func(ctx context.Context) {
		e.finishRestore(ctx, c, pgserver.CopyTree(ctx, from, filepath.Join(c.storageDir(), "data")))
	})
	return xDBClusterResult{DBCluster: x}, nil
}

// finishRestore makes a restored cluster available once its data is in
// place (or failed).
func (e *Emulator) finishRestore(ctx context.Context, c *cluster, err error) {
	st := e.lock()
	defer st.unlock()
	if err != nil {
		if ctx.Err() == nil {
			e.log.Error("auroratest: restoring a cluster", "cluster", c.id, "error", err)
		}
		c.status = statusFailed
		return
	}
	c.status = statusAvailable
	e.event(st, sourceCluster, c.id, "notification", "Restored DB cluster")
}

// restorableWindow is the span a point-in-time restore of c can reach;
// ok is false when c has no base backup yet.
func (c *cluster) restorableWindow(now time.Time) (earliest, latest time.Time, ok bool) {
	var first *snapshot
	for _, b := range c.backups {
		if b.status == statusAvailable {
			first = b
			break
		}
	}
	if first == nil {
		return c.created, c.created, false
	}
	latest = now
	if w := c.writer(); w == nil || w.server == nil || !w.server.Running() {
		latest = c.stoppedAt
	}
	if latest.Before(first.created) {
		latest = first.created
	}
	return first.created, latest, true
}

func (e *Emulator) restoreDBClusterToPointInTime(ctx context.Context, in *restoreToTimeIn) (any, error) {
	if in.RestoreType != "" && in.RestoreType != "full-copy" {
		return nil, errInvalidValue("Invalid RestoreType %q: auroratest emulates full-copy restores.", in.RestoreType)
	}
	if (in.RestoreToTime == nil) == !in.UseLatestRestorableTime {
		return nil, errInvalidCombination("Specify either RestoreToTime or UseLatestRestorableTime=true.")
	}
	st := e.lock()
	defer st.unlock()
	src, ok := st.cluster(e, in.SourceDBClusterIdentifier)
	if !ok {
		return nil, errClusterNotFound(in.SourceDBClusterIdentifier)
	}
	now := time.Now().UTC()
	earliest, latest, ok := src.restorableWindow(now)
	if !ok {
		return nil, &apiError{http.StatusBadRequest, "InvalidDBClusterStateFault", "DBCluster " + src.id + " has no backup to restore from yet."}
	}
	var target time.Time
	if in.RestoreToTime != nil {
		target = *in.RestoreToTime
		if target.Before(earliest) || target.After(latest) {
			return nil, &apiError{http.StatusBadRequest, "InvalidRestoreFault", fmt.Sprintf("RestoreToTime %s is outside the restorable window of %s: %s to %s.",
				target.Format(timeFormat), src.id, earliest.Format(timeFormat), latest.Format(timeFormat))}
		}
	}
	// The latest base backup taken before the target.
	var base *snapshot
	for _, b := range src.backups {
		if b.status == statusAvailable && (target.IsZero() || !b.created.After(target)) {
			base = b
		}
	}
	c, err := e.newRestoredCluster(st, &in.restoreIn, src.engineVersion, src.masterUser, src.masterPassword, src.databaseName, src.storageEncrypted, src.kmsKeyID)
	if err != nil {
		return nil, err
	}
	archive := src.archiveDir()
	c.recovery = &pgserver.Recovery{RestoreCommand: "cp " + archive + "/%f %p", TargetTime: target}
	x := e.xCluster(st, c)
	var srv *pgserver.Server
	if w := src.writer(); w != nil && w.server != nil && w.server.Running() {
		srv = w.server
	}
	from := filepath.Join(base.dir, "data")
	e.goBackground(st, func(ctx context.Context) {
		err := archiveCurrentWAL(ctx, srv, archive)
		if err == nil {
			err = pgserver.CopyTree(ctx, from, filepath.Join(c.storageDir(), "data"))
		}
		e.finishRestore(ctx, c, err)
	})
	return xDBClusterResult{DBCluster: x}, nil
}

// archiveCurrentWAL makes a running writer archive everything it has
// written so far (pg_switch_wal), and waits until the archive holds it, so
// that a restore up to now finds every commit. A nil srv has nothing to
// archive.
func archiveCurrentWAL(ctx context.Context, srv *pgserver.Server, archive string) error {
	if srv == nil {
		return nil
	}
	seg, err := srv.QueryOne(ctx, "SELECT pg_walfile_name(pg_switch_wal())")
	if err != nil {
		return fmt.Errorf("switching the WAL file: %w", err)
	}
	path := filepath.Join(archive, seg)
	err = wait.Until(ctx, pgaurora.Wait{MaxWait: time.Minute}, pollServer, func(context.Context) (bool, error) {
		_, err := os.Stat(path)
		return err == nil, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for %s to be archived: %w", seg, err)
	}
	return nil
}

type xDBClusterSnapshot struct {
	AvailabilityZones                xAvailabilityZones
	DBClusterSnapshotIdentifier      string
	DBClusterIdentifier              string
	SnapshotCreateTime               string
	Engine                           string
	EngineMode                       string
	AllocatedStorage                 int32
	Status                           string
	Port                             int32
	VpcId                            string
	ClusterCreateTime                string
	MasterUsername                   string
	EngineVersion                    string
	LicenseModel                     string
	SnapshotType                     string
	PercentProgress                  int32
	StorageEncrypted                 bool
	KmsKeyId                         string `xml:",omitempty"`
	DBClusterSnapshotArn             string
	IAMDatabaseAuthenticationEnabled bool
	TagList                          xTagList
	DbClusterResourceId              string
	StorageType                      string
}

type xSnapshotResult struct {
	DBClusterSnapshot xDBClusterSnapshot
}

type xDescribeSnapshotsResult struct {
	Marker             string `xml:",omitempty"`
	DBClusterSnapshots struct {
		Items []xDBClusterSnapshot `xml:"DBClusterSnapshot"`
	}
}

func (e *Emulator) xSnapshot(s *snapshot) xDBClusterSnapshot {
	progress := int32(100)
	if s.status == statusCreating {
		progress = 0
	}
	return xDBClusterSnapshot{
		AvailabilityZones: xAvailabilityZones{Items: availabilityZones}, DBClusterSnapshotIdentifier: s.id, DBClusterIdentifier: s.clusterID,
		SnapshotCreateTime: s.created.Format(timeFormat), Engine: engineName, EngineMode: "provisioned", Status: s.status,
		Port: int32(s.port), VpcId: defaultVPC, ClusterCreateTime: s.clusterCreated.Format(timeFormat), MasterUsername: s.masterUser,
		EngineVersion: s.engineVersion, LicenseModel: "postgresql-license", SnapshotType: s.kind, PercentProgress: progress,
		StorageEncrypted: s.encrypted, KmsKeyId: s.kmsKeyID, DBClusterSnapshotArn: s.arn, IAMDatabaseAuthenticationEnabled: s.iamAuth,
		TagList: s.tags.x(), DbClusterResourceId: s.resourceID, StorageType: "aurora",
	}
}
