package auroratest

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/internal/pgserver"
	"github.com/pgaurora/pgaurora/internal/wait"
)

// DB instances: their state and the actions on them (RebootDBInstance is
// in reboot.go).

type createInstanceIn struct {
	DBInstanceIdentifier               string `rds:",required"`
	DBInstanceClass                    string `rds:",required"`
	Engine                             string `rds:",required"`
	DBClusterIdentifier                string
	EngineVersion                      string
	DBParameterGroupName               string
	PromotionTier                      *int
	AutoMinorVersionUpgrade            *bool
	PubliclyAccessible                 *bool
	AvailabilityZone                   string
	DBSubnetGroupName                  string
	CACertificateIdentifier            string
	PreferredMaintenanceWindow         string
	CopyTagsToSnapshot                 bool
	MonitoringInterval                 *int
	EnablePerformanceInsights          bool
	PerformanceInsightsRetentionPeriod *int
	PerformanceInsightsKMSKeyId        string
	tagsIn
}

// createDBInstance adds an instance to a cluster: its first becomes the
// writer (on the cluster's data, or a new database), the others are
// streaming replicas of it. The instance is "creating" until its server
// runs, then "available".
func (e *Emulator) createDBInstance(ctx context.Context, in *createInstanceIn) (any, error) {
	id := strings.ToLower(in.DBInstanceIdentifier)
	if err := validName("DBInstanceIdentifier", id, 63); err != nil {
		return nil, err
	}
	if in.Engine != engineName {
		return nil, errInvalidValue("Invalid Engine %q: auroratest emulates %s.", in.Engine, engineName)
	}
	if in.DBClusterIdentifier == "" {
		return nil, errInvalidCombination("An Aurora DB instance needs DBClusterIdentifier: create the cluster first with CreateDBCluster.")
	}
	if !slices.Contains(instanceClasses, in.DBInstanceClass) {
		return nil, errInvalidValue("Invalid DB instance class %s for %s: use one of %s.", in.DBInstanceClass, engineName, strings.Join(instanceClasses, ", "))
	}
	if t := in.PromotionTier; t != nil && (*t < 0 || *t > 15) {
		return nil, errInvalidValue("Invalid PromotionTier %d: allowed values are 0 to 15.", *t)
	}
	if in.AvailabilityZone != "" && !slices.Contains(availabilityZones, in.AvailabilityZone) {
		return nil, errInvalidValue("Invalid AvailabilityZone %s: use %s.", in.AvailabilityZone, strings.Join(availabilityZones, ", "))
	}
	if in.DBSubnetGroupName != "" && in.DBSubnetGroupName != defaultSubnetGroup {
		return nil, &apiError{http.StatusNotFound, "DBSubnetGroupNotFoundFault", "DBSubnetGroup " + in.DBSubnetGroupName + " not found (auroratest has the default group only)."}
	}
	if m := in.MonitoringInterval; m != nil && *m != 0 {
		return nil, errInvalidValue("auroratest does not emulate Enhanced Monitoring: MonitoringInterval must be 0.")
	}
	if r := in.PerformanceInsightsRetentionPeriod; r != nil && !validPIRetention(*r) {
		return nil, errInvalidValue("Invalid PerformanceInsightsRetentionPeriod %d: use 7, month * 31 (for months 1 to 23) or 731.", *r)
	}
	if w := in.PreferredMaintenanceWindow; w != "" && !windowRE.MatchString(w) {
		return nil, errInvalidValue("Invalid PreferredMaintenanceWindow %q: use ddd:hh24:mi-ddd:hh24:mi, in UTC.", w)
	}
	if in.CACertificateIdentifier != "" {
		if _, ok := e.cas.byID[in.CACertificateIdentifier]; !ok {
			return nil, errCertNotFound(in.CACertificateIdentifier)
		}
	}
	tags, err := newTagList(in.Tags)
	if err != nil {
		return nil, err
	}
	st := e.lock()
	defer st.unlock()
	c, ok := st.cluster(e, in.DBClusterIdentifier)
	if !ok {
		return nil, errClusterNotFound(in.DBClusterIdentifier)
	}
	if in.EngineVersion != "" && in.EngineVersion != c.engineVersion {
		return nil, errInvalidCombination("The engine version %s of the instance does not match its cluster's, %s.", in.EngineVersion, c.engineVersion)
	}
	if _, ok := st.instances[id]; ok {
		return nil, &apiError{http.StatusBadRequest, "DBInstanceAlreadyExists", "DB instance already exists"}
	}
	if c.status != statusAvailable {
		return nil, errInvalidClusterState(c.id, c.status)
	}
	if len(c.members) >= maxInstances {
		return nil, &apiError{http.StatusBadRequest, "InstanceQuotaExceeded", fmt.Sprintf("A DB cluster can have at most %d instances.", maxInstances)}
	}
	group := defaultGroupName(c.family)
	if in.DBParameterGroupName != "" {
		g, ok := st.group(e, instanceKind, in.DBParameterGroupName)
		if !ok {
			return nil, errGroupNotFound(instanceKind, in.DBParameterGroupName)
		}
		if g.family != c.family {
			return nil, errInvalidCombination("The parameter group %s with DBParameterGroupFamily %s cannot be used for this instance. Please use a Parameter Group with DBParameterGroupFamily %s", g.name, g.family, c.family)
		}
		group = g.name
	}
	az := in.AvailabilityZone
	if az == "" {
		az = availabilityZones[len(c.members)%len(availabilityZones)]
	}
	inst := &instance{
		id: id, arn: e.arn("db", id), resourceID: "db-" + randomUpper(26), sessionID: newRequestID(), cluster: c,
		writer: c.writer() == nil, promotionTier: 1, instanceGroup: group, status: statusCreating,
		clusterGroupStatus: statusInSync, instanceGroupStatus: statusInSync, az: az, created: time.Now().UTC(),
		dir: filepath.Join(e.dir, id), class: in.DBInstanceClass, autoMinorUpgrade: true,
		maintenanceWindow: c.maintenanceWindow, copyTagsToSnapshot: in.CopyTagsToSnapshot, tags: tags,
	}
	if in.PromotionTier != nil {
		inst.promotionTier = *in.PromotionTier
	}
	if in.EnablePerformanceInsights {
		inst.pi = e.newPIConfig(in.PerformanceInsightsRetentionPeriod, in.PerformanceInsightsKMSKeyId)
	}
	if in.AutoMinorVersionUpgrade != nil {
		inst.autoMinorUpgrade = *in.AutoMinorVersionUpgrade
	}
	if in.PubliclyAccessible != nil {
		inst.publiclyAccessible = *in.PubliclyAccessible
	}
	if in.PreferredMaintenanceWindow != "" {
		inst.maintenanceWindow = in.PreferredMaintenanceWindow
	}
	ca := in.CACertificateIdentifier
	if ca == "" {
		ca = st.defaultCA()
	}
	if inst.address, err = newInstanceAddress(); err != nil {
		return nil, err
	}
	if err := e.issue(st, inst, ca); err != nil {
		return nil, err
	}
	c.members = append(c.members, inst)
	st.instances[id] = inst
	e.syncExports(st, c)
	e.event(st, sourceInstance, id, "creation", "DB instance created")
	x := e.xInstance(st, inst)
	e.goBackground(st, func(ctx context.Context) { e.bringUp(ctx, inst) })
	if inst.pi.enabled {
		e.startPISampling(st)
	}
	return xDBInstanceResult{DBInstance: x}, nil
}

// bringUp starts a new instance's server and makes it available.
func (e *Emulator) bringUp(ctx context.Context, in *instance) {
	in.ops.lock()
	st := e.lock()
	writer := in.writer
	st.unlock()
	var err error
	if writer {
		err = e.startWriter(ctx, in)
	} else {
		err = e.startReader(ctx, in, nil)
	}
	in.ops.unlock()
	if err == nil {
		// The members changed: every server's topology follows.
		unlock := e.lockMembers(in.cluster)
		e.refreshTopology(ctx, in.cluster)
		unlock()
	}
	st = e.lock()
	defer st.unlock()
	if err != nil {
		if ctx.Err() == nil {
			e.log.Error("auroratest: creating a DB instance", "instance", in.id, "error", err)
		}
		in.status = statusFailed
		e.event(st, sourceInstance, in.id, "failure", "DB instance failed to start")
		return
	}
	if in.status == statusCreating {
		in.status = statusAvailable
	}
	e.event(st, sourceInstance, in.id, "availability", "DB instance is available")
}

type deleteInstanceIn struct {
	DBInstanceIdentifier      string `rds:",required"`
	SkipFinalSnapshot         bool
	FinalDBSnapshotIdentifier string
	DeleteAutomatedBackups    *bool
}

// deletableStatuses are the statuses in which DeleteDBInstance deletes an
// instance (a HoldStatus hold in another refuses it); an instance rebooting
// for its cluster's failover may be deleted too.
var deletableStatuses = []string{statusAvailable, statusFailed, statusIncompatParams}

// deleteDBInstance removes an instance. A writer with readers fails over
// to one of them first, as on Aurora (instances may be deleted side by
// side, during that failover too); the writer's data stays the cluster's
// when no reader takes over.
func (e *Emulator) deleteDBInstance(ctx context.Context, in *deleteInstanceIn) (any, error) {
	if in.FinalDBSnapshotIdentifier != "" {
		return nil, errInvalidCombination("FinalDBSnapshotIdentifier cannot be specified for an Aurora DB instance: snapshots are of the cluster.")
	}
	st := e.lock()
	defer st.unlock()
	inst, ok := st.instance(e, in.DBInstanceIdentifier)
	if !ok {
		return nil, errInstanceNotFound(in.DBInstanceIdentifier)
	}
	c := inst.cluster
	failingOver := c.status == statusFailingOver
	if inst.held != nil && !slices.Contains(deletableStatuses, inst.held.status) {
		return nil, errInvalidInstanceState(inst.id, inst.held.status)
	}
	switch {
	case slices.Contains(deletableStatuses, inst.status):
	case inst.status == statusRebooting && failingOver:
	case inst.status == statusDeleting:
		// AWS's words, which clients that retry a delete (the Terraform
		// provider) take as success.
		return nil, &apiError{http.StatusBadRequest, "InvalidDBInstanceState", "Instance " + inst.id + " is already being deleted."}
	default:
		return nil, errInvalidInstanceState(inst.id, inst.status)
	}
	if c.status != statusAvailable && c.status != statusFailed && !failingOver {
		return nil, errInvalidClusterState(c.id, c.status)
	}
	inst.status = statusDeleting
	e.event(st, sourceInstance, inst.id, "deletion", "DB instance deletion started")
	x := e.xInstance(st, inst)
	e.goBackground(st, func(ctx context.Context) { e.retire(ctx, inst) })
	return xDBInstanceResult{DBInstance: x}, nil
}

// retire deletes an instance in the background: after any failover in
// progress, and after one it starts itself when it is the writer and
// another instance stays.
func (e *Emulator) retire(ctx context.Context, inst *instance) {
	c := inst.cluster
	for {
		err := wait.Until(ctx, pgaurora.Wait{MaxWait: 5 * time.Minute}, pollStatus, func(context.Context) (bool, error) {
			st := e.lock()
			defer st.unlock()
			return c.status != statusFailingOver, nil
		})
		if err != nil {
			return
		}
		st := e.lock()
		inst.status = statusDeleting
		var target *instance
		if inst.writer {
			// No reader to take over (none available, or all held by
			// HoldStatus) leaves target nil.
			target, _ = e.failoverTarget(st, c, "")
		}
		if target == nil {
			st.unlock()
			e.removeInstance(ctx, inst)
			return
		}
		// The writer goes: a reader takes over first.
		if c.status == statusAvailable {
			err = e.startFailover(st, c, target)
		}
		st.unlock()
		if err != nil {
			e.log.Error("auroratest: failing over before deleting the writer", "instance", inst.id, "error", err)
			return
		}
	}
}

// removeInstance stops and forgets an instance.
func (e *Emulator) removeInstance(ctx context.Context, inst *instance) {
	c := inst.cluster
	inst.ops.lock()
	st := e.lock()
	keep := inst.writer // no reader took over: the data stays the cluster's
	st.unlock()
	err := e.removeServer(ctx, inst, keep)
	inst.ops.unlock()
	if err != nil && ctx.Err() == nil {
		e.log.Error("auroratest: deleting a DB instance", "instance", inst.id, "error", err)
	}
	if ctx.Err() != nil {
		return
	}
	st = e.lock()
	c.members = slices.DeleteFunc(slices.Clone(c.members), func(x *instance) bool { return x == inst })
	delete(st.instances, inst.id)
	e.event(st, sourceInstance, inst.id, "deletion", "DB instance deleted")
	st.unlock()
	unlock := e.lockMembers(c)
	e.refreshTopology(ctx, c)
	unlock()
}

// instance is one emulated DB instance: a PostgreSQL server. Its fields
// are part of the state (see state.go); ops serializes the operations on
// its server.
type instance struct {
	id                  string
	arn                 string
	resourceID          string
	sessionID           string // reported by aurora_replica_status() while a reader
	address             string // the loopback address its server listens on (see addresses.go)
	cluster             *cluster
	writer              bool
	promotionTier       int
	instanceGroup       string
	status              string
	held                *heldStatus   // the status HoldStatus makes it report (see reportedStatus)
	lag                 time.Duration // SetReplicaLag's: how far behind the writer it replays while a reader
	clusterGroupStatus  string
	instanceGroupStatus string
	pendingGen          uint64 // bumped whenever a change waits for a reboot
	az                  string
	created             time.Time
	dir                 string
	server              *pgserver.Server
	port                int
	applied             map[string]string // the settings the server runs with (see settings.go)
	ca                  string            // the CA of the server certificate
	pendingCA           string            // a CA change waiting for the next reboot
	tls                 *pgserver.TLS
	certValidTill       time.Time
	tags                tagList
	class               string // DBInstanceClass
	autoMinorUpgrade    bool
	publiclyAccessible  bool
	maintenanceWindow   string
	copyTagsToSnapshot  bool
	pendingClass        string     // a DBInstanceClass change waiting for the maintenance window
	pi                  piConfig   // Performance Insights (see pi.go)
	piSamples           []piSample // its samples, oldest first

	ops opLock
}

// logPath is the instance's PostgreSQL log; it survives restarts and
// rebuilds of the server.
func (in *instance) logPath() string { return filepath.Join(in.dir, "server.log") }

func (e *Emulator) xInstance(st *state, in *instance) xDBInstance {
	c := in.cluster
	sg := e.xSubnetGroup()
	x := xDBInstance{
		DBInstanceIdentifier:             in.id,
		DBInstanceClass:                  in.class,
		Engine:                           engineName,
		DBInstanceStatus:                 in.reportedStatus(),
		MasterUsername:                   c.masterUser,
		DBName:                           c.databaseName,
		AllocatedStorage:                 1,
		InstanceCreateTime:               in.created.Format(timeFormat),
		PreferredBackupWindow:            c.backupWindow,
		BackupRetentionPeriod:            int32(c.backupRetention),
		VpcSecurityGroups:                xVpcSecurityGroups{Items: []xVpcSecurityGroup{{VpcSecurityGroupId: defaultSecurityGroup, Status: "active"}}},
		AvailabilityZone:                 in.az,
		DBSubnetGroup:                    &sg,
		PreferredMaintenanceWindow:       in.maintenanceWindow,
		EngineVersion:                    c.engineVersion,
		AutoMinorVersionUpgrade:          in.autoMinorUpgrade,
		LicenseModel:                     "postgresql-license",
		PubliclyAccessible:               in.publiclyAccessible,
		StorageType:                      "aurora",
		DBClusterIdentifier:              c.id,
		StorageEncrypted:                 c.storageEncrypted,
		KmsKeyId:                         c.kmsKeyID,
		DbiResourceId:                    in.resourceID,
		CACertificateIdentifier:          in.ca,
		CertificateDetails:               &xCertificateDetails{CAIdentifier: in.ca, ValidTill: in.certValidTill.UTC().Format(timeFormat)},
		PendingModifiedValues:            xInstancePending{CACertificateIdentifier: in.pendingCA, DBInstanceClass: in.pendingClass},
		CopyTagsToSnapshot:               in.copyTagsToSnapshot,
		PromotionTier:                    int32(in.promotionTier),
		DBInstanceArn:                    in.arn,
		IAMDatabaseAuthenticationEnabled: c.iamAuth,
		PerformanceInsightsEnabled:       in.pi.enabled,
		DatabaseInsightsMode:             "standard",
		EnabledCloudwatchLogsExports:     xStringList{Items: c.logExports},
		DeletionProtection:               false,
		TagList:                          in.tags.x(),
		NetworkType:                      "IPV4",
		EngineLifecycleSupport:           c.lifecycleSupport(),
		BackupTarget:                     "region",
	}
	if in.pi.enabled {
		x.PerformanceInsightsKMSKeyId, x.PerformanceInsightsRetentionPeriod = in.pi.kmsKeyID, int32(in.pi.retention)
	}
	if in.port != 0 {
		x.Endpoint = &xEndpoint{Address: in.address, Port: int32(in.port), HostedZoneId: hostedZoneID}
	}
	x.DBParameterGroups.Items = []xDBParameterGroupStatus{{DBParameterGroupName: in.instanceGroup, ParameterApplyStatus: in.instanceGroupStatus}}
	x.OptionGroupMemberships.Items = []xOptionGroupMembership{{OptionGroupName: "default:aurora-postgresql-" + strings.TrimPrefix(c.family, "aurora-postgresql"), Status: statusInSync}}
	return x
}

type describeInstancesIn struct {
	DBInstanceIdentifier string
	listIn
}

// instanceFilters are DescribeDBInstances' filters.
var instanceFilters = filterSet[*instance]{
	"db-cluster-id":   func(in *instance) []string { return []string{in.cluster.id, in.cluster.arn} },
	"db-instance-id":  func(in *instance) []string { return []string{in.id, in.arn} },
	"dbi-resource-id": func(in *instance) []string { return []string{in.resourceID} },
	"engine":          func(in *instance) []string { return []string{engineName} },
}

func (e *Emulator) describeDBInstances(ctx context.Context, in *describeInstancesIn) (any, error) {
	st := e.lock()
	defer st.unlock()
	var list []*instance
	if in.DBInstanceIdentifier != "" {
		x, ok := st.instance(e, in.DBInstanceIdentifier)
		if !ok {
			return nil, errInstanceNotFound(in.DBInstanceIdentifier)
		}
		list = []*instance{x}
	} else {
		for _, c := range st.clusterOrder {
			list = append(list, c.members...)
		}
	}
	items, next, err := describe(list, instanceFilters, in.Filters, in.pageIn)
	if err != nil {
		return nil, err
	}
	var res xDescribeDBInstancesResult
	res.Marker = next
	for _, x := range items {
		res.DBInstances.Items = append(res.DBInstances.Items, e.xInstance(st, x))
	}
	return res, nil
}

type modifyInstanceIn struct {
	DBInstanceIdentifier               string `rds:",required"`
	DBParameterGroupName               string
	PromotionTier                      *int
	ApplyImmediately                   bool
	CACertificateIdentifier            string
	CertificateRotationRestart         *bool
	DBInstanceClass                    string
	AutoMinorVersionUpgrade            *bool
	PubliclyAccessible                 *bool
	PreferredMaintenanceWindow         string
	CopyTagsToSnapshot                 *bool
	MonitoringInterval                 *int
	EnablePerformanceInsights          *bool
	PerformanceInsightsRetentionPeriod *int
	PerformanceInsightsKMSKeyId        string
}

// modifyDBInstance changes an instance's DB parameter group (pending
// until a reboot, as on Aurora), its promotion tier and its CA.
func (e *Emulator) modifyDBInstance(ctx context.Context, in *modifyInstanceIn) (any, error) {
	rotationRestart := in.CertificateRotationRestart == nil || *in.CertificateRotationRestart
	caID := in.CACertificateIdentifier
	if t := in.PromotionTier; t != nil && (*t < 0 || *t > 15) {
		return nil, errInvalidValue("Invalid PromotionTier %d: allowed values are 0 to 15.", *t)
	}
	if in.DBInstanceClass != "" && !slices.Contains(instanceClasses, in.DBInstanceClass) {
		return nil, errInvalidValue("Invalid DB instance class %s for %s: use one of %s.", in.DBInstanceClass, engineName, strings.Join(instanceClasses, ", "))
	}
	if w := in.PreferredMaintenanceWindow; w != "" && !windowRE.MatchString(w) {
		return nil, errInvalidValue("Invalid PreferredMaintenanceWindow %q: use ddd:hh24:mi-ddd:hh24:mi, in UTC.", w)
	}
	if m := in.MonitoringInterval; m != nil && *m != 0 {
		return nil, errInvalidValue("auroratest does not emulate Enhanced Monitoring: MonitoringInterval must be 0.")
	}
	if r := in.PerformanceInsightsRetentionPeriod; r != nil && !validPIRetention(*r) {
		return nil, errInvalidValue("Invalid PerformanceInsightsRetentionPeriod %d: use 7, month * 31 (for months 1 to 23) or 731.", *r)
	}
	groupName := strings.ToLower(in.DBParameterGroupName)
	st := e.lock()
	defer st.unlock()
	inst, ok := st.instance(e, in.DBInstanceIdentifier)
	if !ok {
		return nil, errInstanceNotFound(in.DBInstanceIdentifier)
	}
	if groupName != "" {
		g, ok := st.group(e, instanceKind, groupName)
		if !ok {
			return nil, errGroupNotFound(instanceKind, groupName)
		}
		if g.family != inst.cluster.family {
			return nil, errInvalidCombination("The parameter group %s with DBParameterGroupFamily %s cannot be used for this instance. Please use a Parameter Group with DBParameterGroupFamily %s", g.name, g.family, inst.cluster.family)
		}
		if g.name == inst.instanceGroup {
			groupName = ""
		}
	}
	if caID != "" {
		if _, ok := e.cas.byID[caID]; !ok {
			return nil, errCertNotFound(caID)
		}
		if caID == inst.ca && inst.pendingCA == "" {
			caID = ""
		}
	}
	class := in.DBInstanceClass
	if class == inst.class {
		class = ""
	}
	newPI, err := e.modifiedPIConfig(inst.pi, in.EnablePerformanceInsights, in.PerformanceInsightsRetentionPeriod, in.PerformanceInsightsKMSKeyId)
	if err != nil {
		return nil, err
	}
	piChanged := newPI != inst.pi
	same := func(p *bool, v bool) bool { return p == nil || *p == v }
	changed := piChanged || groupName != "" || caID != "" || class != "" || in.PromotionTier != nil && *in.PromotionTier != inst.promotionTier ||
		!same(in.AutoMinorVersionUpgrade, inst.autoMinorUpgrade) || !same(in.PubliclyAccessible, inst.publiclyAccessible) ||
		!same(in.CopyTagsToSnapshot, inst.copyTagsToSnapshot) || in.PreferredMaintenanceWindow != "" && in.PreferredMaintenanceWindow != inst.maintenanceWindow
	if !changed {
		given := in.PromotionTier != nil || in.DBInstanceClass != "" || in.AutoMinorVersionUpgrade != nil || in.PubliclyAccessible != nil ||
			in.CopyTagsToSnapshot != nil || in.PreferredMaintenanceWindow != "" || in.DBParameterGroupName != "" || in.CACertificateIdentifier != "" ||
			in.EnablePerformanceInsights != nil || in.PerformanceInsightsRetentionPeriod != nil || in.PerformanceInsightsKMSKeyId != ""
		if given {
			// Values as they are (Terraform sends the configuration):
			// nothing to do.
			return xDBInstanceResult{DBInstance: e.xInstance(st, inst)}, nil
		}
		return nil, errInvalidCombination("No modifications were requested")
	}
	if s := inst.busyStatus(statusAvailable); s != "" {
		return nil, errInvalidInstanceState(inst.id, s)
	}
	inst.status = statusModifying
	e.event(st, sourceInstance, inst.id, "configuration change", "DB instance is being modified")
	x := e.xInstance(st, inst)
	tier, applyNow := in.PromotionTier, in.ApplyImmediately
	e.goBackground(st, func(ctx context.Context) {
		if !e.sleep(e.delay) {
			return
		}
		st := e.lock()
		if groupName != "" {
			inst.instanceGroup = groupName
			inst.instanceGroupStatus = statusPendingReboot
			inst.pendingGen++
		}
		if tier != nil {
			inst.promotionTier = *tier
		}
		if class != "" && applyNow {
			inst.class, inst.pendingClass = class, ""
		} else if class != "" {
			inst.pendingClass = class // at the next maintenance window
		}
		if v := in.AutoMinorVersionUpgrade; v != nil {
			inst.autoMinorUpgrade = *v
		}
		if v := in.PubliclyAccessible; v != nil {
			inst.publiclyAccessible = *v
		}
		if v := in.CopyTagsToSnapshot; v != nil {
			inst.copyTagsToSnapshot = *v
		}
		if w := in.PreferredMaintenanceWindow; w != "" {
			inst.maintenanceWindow = w
		}
		if piChanged {
			e.setPIConfig(st, inst, newPI)
		}
		rotate := caID
		if caID != "" && !applyNow {
			inst.pendingCA, rotate = caID, "" // at the next reboot
		}
		if rotate == "" {
			inst.status = statusAvailable
		}
		st.unlock()
		if rotate != "" {
			e.rotateCA(ctx, inst, rotate, rotationRestart)
		}
	})
	return xDBInstanceResult{DBInstance: x}, nil
}
