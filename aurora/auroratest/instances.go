package auroratest

import (
	"context"
	"path/filepath"
	"strings"
	"time"

	"github.com/pgaurora/pgaurora/internal/pgserver"
)

// DB instances: their state and the actions on them (RebootDBInstance is
// in reboot.go).

func init() {
	register("DescribeDBInstances", (*Emulator).describeDBInstances)
	register("ModifyDBInstance", (*Emulator).modifyDBInstance)
}

// instance is one emulated DB instance: a PostgreSQL server. Its fields
// are part of the state (see state.go); ops serializes the operations on
// its server.
type instance struct {
	id                  string
	arn                 string
	resourceID          string
	sessionID           string // reported by aurora_replica_status() while a reader
	cluster             *cluster
	index               int // position in cluster.members
	writer              bool
	promotionTier       int
	instanceGroup       string
	status              string
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

	ops opLock
}

// logPath is the instance's PostgreSQL log; it survives restarts and
// rebuilds of the server.
func (in *instance) logPath() string { return filepath.Join(in.dir, "server.log") }

func (e *Emulator) xInstance(st *state, in *instance) xDBInstance {
	c := in.cluster
	x := xDBInstance{
		DBInstanceIdentifier:       in.id,
		DBInstanceClass:            instanceClass,
		Engine:                     engineName,
		DBInstanceStatus:           in.status,
		MasterUsername:             c.masterUser,
		DBName:                     c.databaseName,
		Endpoint:                   xEndpoint{Address: "127.0.0.1", Port: int32(in.port), HostedZoneId: hostedZoneID},
		AllocatedStorage:           1,
		InstanceCreateTime:         in.created.Format(timeFormat),
		PreferredBackupWindow:      "07:00-07:30",
		BackupRetentionPeriod:      int32(c.backupRetention),
		AvailabilityZone:           in.az,
		PreferredMaintenanceWindow: "sun:08:00-sun:08:30",
		EngineVersion:              c.engineVersion,
		AutoMinorVersionUpgrade:    true,
		LicenseModel:               "postgresql-license",
		StorageType:                "aurora",
		DBClusterIdentifier:        c.id,
		DbiResourceId:              in.resourceID,
		CACertificateIdentifier:    in.ca,
		CertificateDetails:         &xCertificateDetails{CAIdentifier: in.ca, ValidTill: in.certValidTill.UTC().Format(timeFormat)},
		PendingModifiedValues:      xInstancePending{CACertificateIdentifier: in.pendingCA},
		PromotionTier:              int32(in.promotionTier),
		DBInstanceArn:              in.arn,
		NetworkType:                "IPV4",
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
	DBInstanceIdentifier       string `rds:",required"`
	DBParameterGroupName       string
	PromotionTier              *int
	ApplyImmediately           bool
	CACertificateIdentifier    string
	CertificateRotationRestart *bool
}

// modifyDBInstance changes an instance's DB parameter group (pending
// until a reboot, as on Aurora), its promotion tier and its CA.
func (e *Emulator) modifyDBInstance(ctx context.Context, in *modifyInstanceIn) (any, error) {
	rotationRestart := in.CertificateRotationRestart == nil || *in.CertificateRotationRestart
	caID := in.CACertificateIdentifier
	if t := in.PromotionTier; t != nil && (*t < 0 || *t > 15) {
		return nil, errInvalidValue("Invalid PromotionTier %d: allowed values are 0 to 15.", *t)
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
	if in.PromotionTier == nil && groupName == "" && caID == "" {
		return nil, errInvalidCombination("No modifications were requested")
	}
	if inst.status != statusAvailable {
		return nil, errInvalidInstanceState(inst.id, inst.status)
	}
	inst.status = statusModifying
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
