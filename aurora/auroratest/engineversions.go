package auroratest

import (
	"context"
	"slices"
	"strings"
	"time"
)

// The engine catalog: DescribeDBEngineVersions and
// DescribeOrderableDBInstanceOptions. The versions are a realistic set of
// Aurora PostgreSQL releases; whatever version a cluster reports, its
// servers are the local PostgreSQL (15).

// engineVersions are the offered versions, oldest first.
var engineVersions = []string{
	"13.9", "13.12", "13.15", "13.18",
	"14.6", "14.9", "14.12", "14.15",
	"15.4", "15.6", "15.8", "15.10",
	"16.1", "16.4", "16.6",
	"17.4", "17.5",
}

// knownVersion reports whether v is an offered version.
func knownVersion(v string) bool { return slices.Contains(engineVersions, v) }

func majorOf(v string) string { m, _, _ := strings.Cut(v, "."); return m }

// upgradeTargets are the versions v can be upgraded to: later minors of
// its major, and the latest minor of each later major.
func upgradeTargets(v string) []xUpgradeTarget {
	i := slices.Index(engineVersions, v)
	var out []xUpgradeTarget
	for j := i + 1; j < len(engineVersions); j++ {
		t := engineVersions[j]
		major := majorOf(t) != majorOf(v)
		if major && j+1 < len(engineVersions) && majorOf(engineVersions[j+1]) == majorOf(t) {
			continue // only a major's latest minor is a major-upgrade target
		}
		out = append(out, xUpgradeTarget{Engine: engineName, EngineVersion: t, Description: "Aurora PostgreSQL (Compatible with PostgreSQL " + t + ")",
			AutoUpgrade: false, IsMajorVersionUpgrade: major, SupportsParallelQuery: false, SupportsBabelfish: false,
			SupportsGlobalDatabases: true, SupportsIntegrations: false, SupportsLocalWriteForwarding: !major && majorOf(t) >= "14",
			SupportedEngineModes: xStringList{Items: []string{"provisioned"}}})
	}
	return out
}

// supportedFeatures are the SupportedFeatureNames of every version.
var supportedFeatures = []string{"Lambda", "s3Export", "s3Import", "SageMaker", "Comprehend"}

type xUpgradeTarget struct {
	Engine                       string
	EngineVersion                string
	Description                  string
	AutoUpgrade                  bool
	IsMajorVersionUpgrade        bool
	SupportedEngineModes         xStringList
	SupportsParallelQuery        bool
	SupportsGlobalDatabases      bool
	SupportsBabelfish            bool
	SupportsIntegrations         bool
	SupportsLocalWriteForwarding bool
}

type xDBEngineVersion struct {
	Engine                     string
	EngineVersion              string
	DBParameterGroupFamily     string
	DBEngineDescription        string
	DBEngineVersionDescription string
	ValidUpgradeTarget         struct {
		Items []xUpgradeTarget `xml:"UpgradeTarget"`
	}
	ExportableLogTypes                        xStringList
	SupportsLogExportsToCloudwatchLogs        bool
	SupportsReadReplica                       bool
	SupportedEngineModes                      xStringList
	SupportedFeatureNames                     xStringList
	Status                                    string
	SupportsParallelQuery                     bool
	SupportsGlobalDatabases                   bool
	SupportsBabelfish                         bool
	SupportsCertificateRotationWithoutRestart bool
	SupportedCACertificateIdentifiers         xStringList
	SupportsLocalWriteForwarding              bool
	SupportsIntegrations                      bool
	SupportsLimitlessDatabase                 bool
	TagList                                   xTagList
}

type describeEngineVersionsIn struct {
	Engine                     string
	EngineVersion              string
	DBParameterGroupFamily     string
	DefaultOnly                bool
	IncludeAll                 bool
	ListSupportedCharacterSets bool
	ListSupportedTimezones     bool
	listIn
}

var engineVersionFilters = filterSet[string]{
	"engine":                    func(string) []string { return []string{engineName} },
	"engine-version":            func(v string) []string { return []string{v} },
	"db-parameter-group-family": func(v string) []string { return []string{familyFor(v)} },
	"engine-mode":               func(string) []string { return []string{"provisioned"} },
	"status":                    func(string) []string { return []string{"available"} },
}

func (e *Emulator) describeDBEngineVersions(ctx context.Context, in *describeEngineVersionsIn) (any, error) {
	if in.ListSupportedCharacterSets || in.ListSupportedTimezones {
		return nil, errInvalidValue("auroratest lists no character sets or time zones.")
	}
	var list []string
	if in.Engine == "" || in.Engine == engineName {
		for _, v := range engineVersions {
			if in.EngineVersion != "" && v != in.EngineVersion && !strings.HasPrefix(v, in.EngineVersion+".") ||
				in.DBParameterGroupFamily != "" && familyFor(v) != in.DBParameterGroupFamily {
				continue
			}
			list = append(list, v)
		}
	}
	if in.DefaultOnly && len(list) > 0 {
		def := list[len(list)-1]
		if slices.Contains(list, defaultEngineVersion) {
			def = defaultEngineVersion
		}
		list = []string{def}
	}
	items, next, err := describe(list, engineVersionFilters, in.Filters, in.pageIn)
	if err != nil {
		return nil, err
	}
	var res struct {
		Marker           string `xml:",omitempty"`
		DBEngineVersions struct {
			Items []xDBEngineVersion `xml:"DBEngineVersion"`
		}
	}
	res.Marker = next
	for _, v := range items {
		x := xDBEngineVersion{Engine: engineName, EngineVersion: v, DBParameterGroupFamily: familyFor(v),
			DBEngineDescription: "Aurora (PostgreSQL)", DBEngineVersionDescription: "Aurora PostgreSQL (Compatible with PostgreSQL " + v + ")",
			ExportableLogTypes: xStringList{Items: []string{"postgresql"}}, SupportsLogExportsToCloudwatchLogs: true, SupportsReadReplica: true,
			SupportedEngineModes: xStringList{Items: []string{"provisioned"}}, SupportedFeatureNames: xStringList{Items: supportedFeatures},
			Status: "available", SupportsGlobalDatabases: true, SupportsCertificateRotationWithoutRestart: true,
			SupportedCACertificateIdentifiers: xStringList{Items: caIDs}, SupportsLocalWriteForwarding: majorOf(v) >= "14"}
		x.ValidUpgradeTarget.Items = upgradeTargets(v)
		res.DBEngineVersions.Items = append(res.DBEngineVersions.Items, x)
	}
	return res, nil
}

// instanceClasses are the DB instance classes offered for every version.
var instanceClasses = []string{
	"db.r5.large", "db.r5.xlarge", "db.r5.2xlarge", "db.r5.4xlarge",
	"db.r6g.large", "db.r6g.xlarge", "db.r6g.2xlarge", "db.r6g.4xlarge",
	"db.r6i.large", "db.r6i.xlarge", "db.r6i.2xlarge",
	"db.r7g.large", "db.r7g.xlarge", "db.r7g.2xlarge",
	"db.t3.medium", "db.t4g.medium", "db.t4g.large", "db.serverless",
}

type orderableIn struct {
	Engine                string `rds:",required"`
	EngineVersion         string
	DBInstanceClass       string
	LicenseModel          string
	Vpc                   *bool
	AvailabilityZoneGroup string
	listIn
}

type orderable struct{ version, class string }

var orderableFilters = filterSet[orderable]{}

type xOrderable struct {
	Engine            string
	EngineVersion     string
	DBInstanceClass   string
	LicenseModel      string
	AvailabilityZones struct {
		Items []struct{ Name string } `xml:"AvailabilityZone"`
	}
	MultiAZCapable                    bool
	ReadReplicaCapable                bool
	Vpc                               bool
	SupportsStorageEncryption         bool
	StorageType                       string
	SupportsIAMDatabaseAuthentication bool
	SupportsPerformanceInsights       bool
	SupportedEngineModes              xStringList
	SupportsClusters                  bool
	SupportedNetworkTypes             xStringList
	SupportsEnhancedMonitoring        bool
	SupportsGlobalDatabases           bool
}

func (e *Emulator) describeOrderableDBInstanceOptions(ctx context.Context, in *orderableIn) (any, error) {
	if in.Engine != engineName {
		return nil, errInvalidValue("Invalid Engine %q: auroratest emulates %s.", in.Engine, engineName)
	}
	if in.Vpc != nil && !*in.Vpc {
		return nil, errInvalidValue("auroratest offers instances in a VPC only.")
	}
	var list []orderable
	for _, v := range engineVersions {
		if in.EngineVersion != "" && v != in.EngineVersion {
			continue
		}
		for _, cl := range instanceClasses {
			if in.DBInstanceClass == "" || cl == in.DBInstanceClass {
				list = append(list, orderable{v, cl})
			}
		}
	}
	items, next, err := describe(list, orderableFilters, in.Filters, in.pageIn)
	if err != nil {
		return nil, err
	}
	var res struct {
		OrderableDBInstanceOptions struct {
			Items []xOrderable `xml:"OrderableDBInstanceOption"`
		}
		Marker string `xml:",omitempty"`
	}
	res.Marker = next
	for _, o := range items {
		x := xOrderable{Engine: engineName, EngineVersion: o.version, DBInstanceClass: o.class, LicenseModel: "postgresql-license",
			MultiAZCapable: false, ReadReplicaCapable: false, Vpc: true, SupportsStorageEncryption: true, StorageType: "aurora",
			SupportsIAMDatabaseAuthentication: true, SupportsPerformanceInsights: true, SupportsClusters: true,
			SupportedEngineModes: xStringList{Items: []string{"provisioned"}}, SupportedNetworkTypes: xStringList{Items: []string{"IPV4"}},
			SupportsEnhancedMonitoring: true, SupportsGlobalDatabases: true}
		for _, az := range availabilityZones {
			x.AvailabilityZones.Items = append(x.AvailabilityZones.Items, struct{ Name string }{az})
		}
		res.OrderableDBInstanceOptions.Items = append(res.OrderableDBInstanceOptions.Items, x)
	}
	return res, nil
}

// majorLifecycle is one major version's support calendar, as AWS's
// Aurora PostgreSQL release calendar lists it: Aurora standard support
// from the first release to its end, then RDS Extended Support (charged)
// from the next day.
type majorLifecycle struct {
	major                                 string
	standardStart, standardEnd, extendEnd string // dates, UTC
}

// majorLifecycles are the lifecycles of the majors of engineVersions.
var majorLifecycles = []majorLifecycle{
	{"13", "2021-08-26", "2026-02-28", "2029-02-28"},
	{"14", "2022-06-09", "2027-02-28", "2030-02-28"},
	{"15", "2023-07-27", "2028-02-29", "2031-02-28"},
	{"16", "2024-01-31", "2029-02-28", "2032-02-29"},
	{"17", "2024-11-25", "2030-02-28", "2033-02-28"},
}

type xSupportedEngineLifecycle struct {
	LifecycleSupportName      string
	LifecycleSupportStartDate string
	LifecycleSupportEndDate   string
}

type xDBMajorEngineVersion struct {
	Engine                    string
	MajorEngineVersion        string
	SupportedEngineLifecycles struct {
		Items []xSupportedEngineLifecycle `xml:"SupportedEngineLifecycle"`
	}
}

type describeMajorEngineVersionsIn struct {
	Engine             string
	MajorEngineVersion string
	pageIn
}

// describeDBMajorEngineVersions serves DescribeDBMajorEngineVersions:
// each major's standard and extended support, at midnight UTC of the
// calendar's dates (the end dates are the last day of support).
func (e *Emulator) describeDBMajorEngineVersions(ctx context.Context, in *describeMajorEngineVersionsIn) (any, error) {
	if in.Engine != "" && in.Engine != engineName {
		return nil, errInvalidValue("auroratest emulates the %s engine only, not %q.", engineName, in.Engine)
	}
	var list []majorLifecycle
	for _, l := range majorLifecycles {
		if in.MajorEngineVersion == "" || in.MajorEngineVersion == l.major {
			list = append(list, l)
		}
	}
	items, next, err := describe(list, filterSet[majorLifecycle]{}, nil, in.pageIn)
	if err != nil {
		return nil, err
	}
	var res struct {
		Marker                string `xml:",omitempty"`
		DBMajorEngineVersions struct {
			Items []xDBMajorEngineVersion `xml:"DBMajorEngineVersion"`
		}
	}
	res.Marker = next
	day := func(d string) string { return d + "T00:00:00.000Z" }
	for _, l := range items {
		x := xDBMajorEngineVersion{Engine: engineName, MajorEngineVersion: l.major}
		end, _ := time.Parse(time.DateOnly, l.standardEnd)
		x.SupportedEngineLifecycles.Items = []xSupportedEngineLifecycle{
			{"open-source-rds-standard-support", day(l.standardStart), day(l.standardEnd)},
			{"open-source-rds-extended-support", end.AddDate(0, 0, 1).Format(timeFormat), day(l.extendEnd)},
		}
		res.DBMajorEngineVersions.Items = append(res.DBMajorEngineVersions.Items, x)
	}
	return res, nil
}
