package params

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
)

// RDSAPI is the subset of *rds.Client the Service calls. Pass an
// *rds.Client, or any wrapper of one (for retries, logging or counting).
type RDSAPI interface {
	CreateDBClusterParameterGroup(ctx context.Context, in *rds.CreateDBClusterParameterGroupInput, optFns ...func(*rds.Options)) (*rds.CreateDBClusterParameterGroupOutput, error)
	CreateDBParameterGroup(ctx context.Context, in *rds.CreateDBParameterGroupInput, optFns ...func(*rds.Options)) (*rds.CreateDBParameterGroupOutput, error)
	DeleteDBClusterParameterGroup(ctx context.Context, in *rds.DeleteDBClusterParameterGroupInput, optFns ...func(*rds.Options)) (*rds.DeleteDBClusterParameterGroupOutput, error)
	DeleteDBParameterGroup(ctx context.Context, in *rds.DeleteDBParameterGroupInput, optFns ...func(*rds.Options)) (*rds.DeleteDBParameterGroupOutput, error)
	DescribeDBClusterParameterGroups(ctx context.Context, in *rds.DescribeDBClusterParameterGroupsInput, optFns ...func(*rds.Options)) (*rds.DescribeDBClusterParameterGroupsOutput, error)
	DescribeDBParameterGroups(ctx context.Context, in *rds.DescribeDBParameterGroupsInput, optFns ...func(*rds.Options)) (*rds.DescribeDBParameterGroupsOutput, error)
	ModifyDBClusterParameterGroup(ctx context.Context, in *rds.ModifyDBClusterParameterGroupInput, optFns ...func(*rds.Options)) (*rds.ModifyDBClusterParameterGroupOutput, error)
	ModifyDBParameterGroup(ctx context.Context, in *rds.ModifyDBParameterGroupInput, optFns ...func(*rds.Options)) (*rds.ModifyDBParameterGroupOutput, error)
	ResetDBClusterParameterGroup(ctx context.Context, in *rds.ResetDBClusterParameterGroupInput, optFns ...func(*rds.Options)) (*rds.ResetDBClusterParameterGroupOutput, error)
	ResetDBParameterGroup(ctx context.Context, in *rds.ResetDBParameterGroupInput, optFns ...func(*rds.Options)) (*rds.ResetDBParameterGroupOutput, error)
	DescribeDBClusterParameters(ctx context.Context, in *rds.DescribeDBClusterParametersInput, optFns ...func(*rds.Options)) (*rds.DescribeDBClusterParametersOutput, error)
	DescribeDBParameters(ctx context.Context, in *rds.DescribeDBParametersInput, optFns ...func(*rds.Options)) (*rds.DescribeDBParametersOutput, error)
	DescribeDBClusters(ctx context.Context, in *rds.DescribeDBClustersInput, optFns ...func(*rds.Options)) (*rds.DescribeDBClustersOutput, error)
	DescribeDBInstances(ctx context.Context, in *rds.DescribeDBInstancesInput, optFns ...func(*rds.Options)) (*rds.DescribeDBInstancesOutput, error)
	RebootDBInstance(ctx context.Context, in *rds.RebootDBInstanceInput, optFns ...func(*rds.Options)) (*rds.RebootDBInstanceOutput, error)
	DescribeEngineDefaultClusterParameters(ctx context.Context, in *rds.DescribeEngineDefaultClusterParametersInput, optFns ...func(*rds.Options)) (*rds.DescribeEngineDefaultClusterParametersOutput, error)
	DescribeEngineDefaultParameters(ctx context.Context, in *rds.DescribeEngineDefaultParametersInput, optFns ...func(*rds.Options)) (*rds.DescribeEngineDefaultParametersOutput, error)
}

var _ RDSAPI = (*rds.Client)(nil)

// Service manages parameter groups through the RDS API: groups, parameter
// listings, validated and batched modifications, resets, plans, and the
// reboots that make static changes take effect.
type Service struct {
	api           RDSAPI
	engineVersion string
	fetchMetadata bool
}

// Option configures a Service.
type Option func(*Service)

// WithEngineVersion makes Modify, Plan and Apply refuse catalog parameters
// that the engine version (for example "15.4") does not have.
func WithEngineVersion(v string) Option {
	return func(s *Service) { s.engineVersion = v }
}

// WithMetadataCheck makes Modify read the group's parameter metadata from
// the API (DescribeDB[Cluster]Parameters, every page) before modifying, to
// validate every change with ValidateAgainst and to give parameters the
// catalog does not know their natural apply method. Without it, Modify
// validates against the catalog only and makes no call but the
// modifications themselves. Plan always reads the metadata.
func WithMetadataCheck() Option {
	return func(s *Service) { s.fetchMetadata = true }
}

// New returns a Service that calls api, normally an *rds.Client.
func New(api RDSAPI, opts ...Option) *Service {
	s := &Service{api: api}
	for _, o := range opts {
		o(s)
	}
	return s
}

var errNilAPI = errors.New("params: Service has no RDS client; create it with params.New(rdsClient)")

func (s *Service) ready() error {
	if s == nil || s.api == nil {
		return errNilAPI
	}
	return nil
}

// checkWrite validates kind and a group name that is about to be changed.
func (s *Service) checkWrite(kind Kind, group string) error {
	if err := s.ready(); err != nil {
		return err
	}
	if err := checkKind(kind); err != nil {
		return err
	}
	return ValidateGroupName(group)
}

// checkRead validates kind and a group name that is only read.
func (s *Service) checkRead(kind Kind, group string) error {
	if err := s.ready(); err != nil {
		return err
	}
	if err := checkKind(kind); err != nil {
		return err
	}
	return checkLookupName(group)
}

// wrapAPI wraps an API error with what was being done, and marks
// not-found faults with ErrGroupNotFound.
func wrapAPI(err error, format string, args ...any) error {
	what := fmt.Sprintf(format, args...)
	var nf *types.DBParameterGroupNotFoundFault
	var cnf *types.DBClusterParameterGroupNotFoundFault
	if errors.As(err, &nf) || errors.As(err, &cnf) {
		return fmt.Errorf("params: %s: %w: %w", what, ErrGroupNotFound, err)
	}
	return fmt.Errorf("params: %s: %w", what, err)
}

// CreateGroup creates a custom parameter group (CreateDBClusterParameterGroup
// or CreateDBParameterGroup, by g.Kind) and returns it as RDS reports it.
// Name, Family and Description are required; the name is checked with
// ValidateGroupName before the call.
func (s *Service) CreateGroup(ctx context.Context, g Group) (Group, error) {
	if err := s.checkWrite(g.Kind, g.Name); err != nil {
		return Group{}, err
	}
	if strings.TrimSpace(g.Family) == "" || strings.ContainsAny(g.Family, " \t\n") {
		return Group{}, &ValidationError{Field: "family", Value: g.Family,
			Reason: `must name a parameter group family without spaces, for example "aurora-postgresql15"`}
	}
	if strings.TrimSpace(g.Description) == "" {
		return Group{}, &ValidationError{Field: "description", Reason: "is empty; RDS requires a description for a new parameter group"}
	}
	if !utf8.ValidString(g.Description) || strings.ContainsFunc(g.Description, unicode.IsControl) {
		return Group{}, &ValidationError{Field: "description", Value: g.Description,
			Reason: "holds a control character or invalid UTF-8, which the RDS Query API (XML) cannot carry"}
	}
	switch g.Kind {
	case ClusterGroup:
		out, err := s.api.CreateDBClusterParameterGroup(ctx, &rds.CreateDBClusterParameterGroupInput{
			DBClusterParameterGroupName: aws.String(g.Name),
			DBParameterGroupFamily:      aws.String(g.Family),
			Description:                 aws.String(g.Description),
		})
		if err != nil {
			return Group{}, wrapAPI(err, "create cluster parameter group %q", g.Name)
		}
		if out.DBClusterParameterGroup != nil {
			return fromSDKClusterGroup(*out.DBClusterParameterGroup), nil
		}
	default:
		out, err := s.api.CreateDBParameterGroup(ctx, &rds.CreateDBParameterGroupInput{
			DBParameterGroupName:   aws.String(g.Name),
			DBParameterGroupFamily: aws.String(g.Family),
			Description:            aws.String(g.Description),
		})
		if err != nil {
			return Group{}, wrapAPI(err, "create instance parameter group %q", g.Name)
		}
		if out.DBParameterGroup != nil {
			return fromSDKInstanceGroup(*out.DBParameterGroup), nil
		}
	}
	return g, nil
}

// DeleteGroup deletes a custom parameter group. RDS refuses to delete a
// group that a cluster or instance still uses.
func (s *Service) DeleteGroup(ctx context.Context, kind Kind, name string) error {
	if err := s.checkWrite(kind, name); err != nil {
		return err
	}
	var err error
	if kind == ClusterGroup {
		_, err = s.api.DeleteDBClusterParameterGroup(ctx, &rds.DeleteDBClusterParameterGroupInput{
			DBClusterParameterGroupName: aws.String(name)})
	} else {
		_, err = s.api.DeleteDBParameterGroup(ctx, &rds.DeleteDBParameterGroupInput{
			DBParameterGroupName: aws.String(name)})
	}
	if err != nil {
		return wrapAPI(err, "delete %s parameter group %q", kind, name)
	}
	return nil
}

// DescribeGroup returns one parameter group. Default groups
// ("default.aurora-postgresql15") can be described. A missing group gives
// an error matching ErrGroupNotFound.
func (s *Service) DescribeGroup(ctx context.Context, kind Kind, name string) (Group, error) {
	if err := s.checkRead(kind, name); err != nil {
		return Group{}, err
	}
	gs, err := s.groups(ctx, kind, aws.String(name))
	if err != nil {
		return Group{}, wrapAPI(err, "describe %s parameter group %q", kind, name)
	}
	for _, g := range gs {
		if strings.EqualFold(g.Name, name) {
			return g, nil
		}
	}
	return Group{}, fmt.Errorf("params: describe %s parameter group %q: %w", kind, name, ErrGroupNotFound)
}

// ListGroups returns every parameter group of the kind, reading all pages.
func (s *Service) ListGroups(ctx context.Context, kind Kind) ([]Group, error) {
	if err := s.ready(); err != nil {
		return nil, err
	}
	if err := checkKind(kind); err != nil {
		return nil, err
	}
	gs, err := s.groups(ctx, kind, nil)
	if err != nil {
		return nil, wrapAPI(err, "list %s parameter groups", kind)
	}
	return gs, nil
}

func (s *Service) groups(ctx context.Context, kind Kind, name *string) ([]Group, error) {
	var out []Group
	var marker *string
	seen := map[string]bool{}
	for {
		var next *string
		if kind == ClusterGroup {
			res, err := s.api.DescribeDBClusterParameterGroups(ctx, &rds.DescribeDBClusterParameterGroupsInput{
				DBClusterParameterGroupName: name, Marker: marker, MaxRecords: aws.Int32(100)})
			if err != nil {
				return nil, err
			}
			for _, g := range res.DBClusterParameterGroups {
				out = append(out, fromSDKClusterGroup(g))
			}
			next = res.Marker
		} else {
			res, err := s.api.DescribeDBParameterGroups(ctx, &rds.DescribeDBParameterGroupsInput{
				DBParameterGroupName: name, Marker: marker, MaxRecords: aws.Int32(100)})
			if err != nil {
				return nil, err
			}
			for _, g := range res.DBParameterGroups {
				out = append(out, fromSDKInstanceGroup(g))
			}
			next = res.Marker
		}
		if aws.ToString(next) == "" {
			return out, nil
		}
		if seen[*next] {
			return nil, fmt.Errorf("the API returned marker %q twice", *next)
		}
		seen[*next] = true
		marker = next
	}
}

// ListOptions filters ListParameters and Parameters.
type ListOptions struct {
	// Source keeps only parameters from one source: SourceUser,
	// SourceSystem or SourceEngineDefault. Empty lists every parameter.
	Source string
}

func (o *ListOptions) source() (string, error) {
	if o == nil || o.Source == "" {
		return "", nil
	}
	switch o.Source {
	case SourceUser, SourceSystem, SourceEngineDefault:
		return o.Source, nil
	}
	return "", &ValidationError{Field: "source", Value: o.Source,
		Reason: `is not a parameter source; use "user", "system", "engine-default" or leave it empty`}
}

// ListParameters returns the parameters of a group (DescribeDBClusterParameters
// or DescribeDBParameters), reading every page.
func (s *Service) ListParameters(ctx context.Context, kind Kind, group string, opts *ListOptions) ([]Parameter, error) {
	var out []Parameter
	for p, err := range s.Parameters(ctx, kind, group, opts) {
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// Parameters iterates over the parameters of a group, fetching pages as
// the loop advances; stopping the loop stops the fetching. An error is
// yielded once, as the last element.
func (s *Service) Parameters(ctx context.Context, kind Kind, group string, opts *ListOptions) iter.Seq2[Parameter, error] {
	return func(yield func(Parameter, error) bool) {
		if err := s.checkRead(kind, group); err != nil {
			yield(Parameter{}, err)
			return
		}
		source, err := opts.source()
		if err != nil {
			yield(Parameter{}, err)
			return
		}
		var src *string
		if source != "" {
			src = aws.String(source)
		}
		var marker *string
		seen := map[string]bool{}
		for {
			var (
				page []types.Parameter
				next *string
			)
			if kind == ClusterGroup {
				res, err := s.api.DescribeDBClusterParameters(ctx, &rds.DescribeDBClusterParametersInput{
					DBClusterParameterGroupName: aws.String(group), Source: src, Marker: marker, MaxRecords: aws.Int32(100)})
				if err != nil {
					yield(Parameter{}, wrapAPI(err, "list parameters of cluster parameter group %q", group))
					return
				}
				page, next = res.Parameters, res.Marker
			} else {
				res, err := s.api.DescribeDBParameters(ctx, &rds.DescribeDBParametersInput{
					DBParameterGroupName: aws.String(group), Source: src, Marker: marker, MaxRecords: aws.Int32(100)})
				if err != nil {
					yield(Parameter{}, wrapAPI(err, "list parameters of instance parameter group %q", group))
					return
				}
				page, next = res.Parameters, res.Marker
			}
			for _, p := range page {
				if !yield(fromSDKParameter(p), nil) {
					return
				}
			}
			if aws.ToString(next) == "" {
				return
			}
			if seen[*next] {
				yield(Parameter{}, fmt.Errorf("params: list parameters of %s parameter group %q: the API returned marker %q twice", kind, group, *next))
				return
			}
			seen[*next] = true
			marker = next
		}
	}
}

// EngineDefaults returns the parameters a group of kind and family starts
// with (DescribeEngineDefaultClusterParameters or
// DescribeEngineDefaultParameters, every page): the family's parameter
// names and their metadata, as ValidateAgainst takes them. It is how a
// caller learns what another family (the target of a major version
// upgrade) accepts before any group of it exists.
func (s *Service) EngineDefaults(ctx context.Context, kind Kind, family string) ([]Parameter, error) {
	if err := checkKind(kind); err != nil {
		return nil, err
	}
	if family == "" {
		return nil, &ValidationError{Field: "family", Reason: "is empty: name a parameter group family such as aurora-postgresql16"}
	}
	var out []Parameter
	add := func(page []types.Parameter) {
		for _, p := range page {
			out = append(out, fromSDKParameter(p))
		}
	}
	if kind == ClusterGroup {
		pg := rds.NewDescribeEngineDefaultClusterParametersPaginator(s.api, &rds.DescribeEngineDefaultClusterParametersInput{
			DBParameterGroupFamily: aws.String(family), MaxRecords: aws.Int32(100)})
		for pg.HasMorePages() {
			res, err := pg.NextPage(ctx)
			if err != nil {
				return nil, wrapAPI(err, "engine defaults of cluster parameter group family %q", family)
			}
			add(res.EngineDefaults.Parameters)
		}
		return out, nil
	}
	pg := rds.NewDescribeEngineDefaultParametersPaginator(s.api, &rds.DescribeEngineDefaultParametersInput{
		DBParameterGroupFamily: aws.String(family), MaxRecords: aws.Int32(100)})
	for pg.HasMorePages() {
		res, err := pg.NextPage(ctx)
		if err != nil {
			return nil, wrapAPI(err, "engine defaults of instance parameter group family %q", family)
		}
		add(res.EngineDefaults.Parameters)
	}
	return out, nil
}

// Modify sets parameters in a group. Everything is validated before the
// first call (see PlanCalls for the rules); invalid input returns a
// *ValidationError (or several, joined) and makes no call.
//
// Static parameters: a change with an empty Method is sent as
// types.ApplyMethodPendingReboot; types.ApplyMethodImmediate is refused for them with a validation error,
// never silently downgraded, so a caller who believes a change is live at
// once learns otherwise before anything happens. Reboot the members
// afterwards with RebootPending.
//
// The changes go in calls of at most 20, immediate and pending-reboot
// separately, with parameters that must change together in one call. If a
// call fails, Modify stops and returns a *ModifyError listing the changes
// applied by earlier calls and those not applied.
func (s *Service) Modify(ctx context.Context, kind Kind, group string, changes ...Change) error {
	if err := s.checkWrite(kind, group); err != nil {
		return err
	}
	opts := &PlanOptions{EngineVersion: s.engineVersion}
	calls, err := PlanCalls(kind, changes, opts)
	if err != nil {
		return err
	}
	if len(calls) == 0 {
		return nil
	}
	if s.fetchMetadata {
		meta, err := s.ListParameters(ctx, kind, group, nil)
		if err != nil {
			return fmt.Errorf("params: modify %s parameter group %q: read parameter metadata: %w", kind, group, err)
		}
		opts.Metadata = meta
		if calls, err = PlanCalls(kind, changes, opts); err != nil {
			return err
		}
	}
	return s.run(ctx, "modify", kind, group, calls, s.modifyCall)
}

// Plan reads the group's parameters (every page) and returns the changes
// among desired whose values differ, validated against both the catalog
// and the API's metadata. Invalid input is refused before any call.
func (s *Service) Plan(ctx context.Context, kind Kind, group string, desired ...Change) (Plan, error) {
	if err := s.checkWrite(kind, group); err != nil {
		return Plan{}, err
	}
	if _, err := PlanCalls(kind, desired, &PlanOptions{EngineVersion: s.engineVersion}); err != nil {
		return Plan{}, err
	}
	meta, err := s.ListParameters(ctx, kind, group, nil)
	if err != nil {
		return Plan{}, fmt.Errorf("params: plan %s parameter group %q: %w", kind, group, err)
	}
	if _, err := PlanCalls(kind, desired, &PlanOptions{EngineVersion: s.engineVersion, Metadata: meta}); err != nil {
		return Plan{}, err
	}
	return Plan{Kind: kind, Group: group, Changes: Diff(meta, desired), meta: meta}, nil
}

// Apply executes a plan: nothing, with no call, when it is empty; otherwise
// as Modify does, using the metadata the plan was computed with.
func (s *Service) Apply(ctx context.Context, p Plan) error {
	if p.Empty() {
		return nil
	}
	if err := s.checkWrite(p.Kind, p.Group); err != nil {
		return err
	}
	calls, err := PlanCalls(p.Kind, p.Changes, &PlanOptions{EngineVersion: s.engineVersion, Metadata: p.meta})
	if err != nil {
		return err
	}
	return s.run(ctx, "modify", p.Kind, p.Group, calls, s.modifyCall)
}

// Reset returns the named parameters of a group to their defaults
// (ResetDBClusterParameterGroup or ResetDBParameterGroup), at most 20 per
// call. Dynamic parameters reset immediately, static ones (and parameters
// the catalog does not know) at the next reboot. A failed call returns a
// *ModifyError with Op "reset".
func (s *Service) Reset(ctx context.Context, kind Kind, group string, names ...string) error {
	if err := s.checkWrite(kind, group); err != nil {
		return err
	}
	calls, err := planResetCalls(names, nil)
	if err != nil {
		return err
	}
	return s.run(ctx, "reset", kind, group, calls, s.resetCall)
}

// ResetAll returns every parameter of a group to its default in one call
// (ResetAllParameters). RDS applies the static ones at the next reboot.
func (s *Service) ResetAll(ctx context.Context, kind Kind, group string) error {
	if err := s.checkWrite(kind, group); err != nil {
		return err
	}
	var err error
	if kind == ClusterGroup {
		_, err = s.api.ResetDBClusterParameterGroup(ctx, &rds.ResetDBClusterParameterGroupInput{
			DBClusterParameterGroupName: aws.String(group), ResetAllParameters: aws.Bool(true)})
	} else {
		_, err = s.api.ResetDBParameterGroup(ctx, &rds.ResetDBParameterGroupInput{
			DBParameterGroupName: aws.String(group), ResetAllParameters: aws.Bool(true)})
	}
	if err != nil {
		return wrapAPI(err, "reset all parameters of %s parameter group %q", kind, group)
	}
	return nil
}

type callFunc func(ctx context.Context, kind Kind, group string, c Call) error

// run executes calls in order and reports exactly what was applied when
// one fails.
func (s *Service) run(ctx context.Context, op string, kind Kind, group string, calls []Call, do callFunc) error {
	for i, c := range calls {
		err := ctx.Err()
		if err == nil {
			err = do(ctx, kind, group, c)
		}
		if err != nil {
			return newModifyError(op, kind, group, calls, i, wrapAPI(err, "%s %s parameter group %q", op, kind, group))
		}
	}
	return nil
}

// newModifyError builds the error for calls[failed] failing.
func newModifyError(op string, kind Kind, group string, calls []Call, failed int, err error) *ModifyError {
	e := &ModifyError{Op: op, Kind: kind, Group: group, Call: failed + 1, Calls: len(calls), Err: err}
	for i, c := range calls {
		if i < failed {
			e.Applied = append(e.Applied, c.Changes...)
		} else {
			e.NotApplied = append(e.NotApplied, c.Changes...)
		}
	}
	return e
}

func (s *Service) modifyCall(ctx context.Context, kind Kind, group string, c Call) error {
	ps := toSDKParameters(c.Changes, true)
	var err error
	if kind == ClusterGroup {
		_, err = s.api.ModifyDBClusterParameterGroup(ctx, &rds.ModifyDBClusterParameterGroupInput{
			DBClusterParameterGroupName: aws.String(group), Parameters: ps})
	} else {
		_, err = s.api.ModifyDBParameterGroup(ctx, &rds.ModifyDBParameterGroupInput{
			DBParameterGroupName: aws.String(group), Parameters: ps})
	}
	return err
}

func (s *Service) resetCall(ctx context.Context, kind Kind, group string, c Call) error {
	ps := toSDKParameters(c.Changes, false)
	var err error
	if kind == ClusterGroup {
		_, err = s.api.ResetDBClusterParameterGroup(ctx, &rds.ResetDBClusterParameterGroupInput{
			DBClusterParameterGroupName: aws.String(group), Parameters: ps})
	} else {
		_, err = s.api.ResetDBParameterGroup(ctx, &rds.ResetDBParameterGroupInput{
			DBParameterGroupName: aws.String(group), Parameters: ps})
	}
	return err
}

// toSDKParameters converts changes to the API's shape; withValue is false
// for resets, which send only names and methods.
func toSDKParameters(cs []Change, withValue bool) []types.Parameter {
	out := make([]types.Parameter, len(cs))
	for i, c := range cs {
		out[i] = types.Parameter{
			ParameterName: aws.String(c.Name),
			ApplyMethod:   c.Method,
		}
		if withValue {
			out[i].ParameterValue = aws.String(c.Value)
		}
	}
	return out
}

func fromSDKParameter(p types.Parameter) Parameter {
	return Parameter{
		Name:                 aws.ToString(p.ParameterName),
		Value:                aws.ToString(p.ParameterValue),
		Source:               aws.ToString(p.Source),
		ApplyType:            ApplyType(aws.ToString(p.ApplyType)),
		DataType:             aws.ToString(p.DataType),
		AllowedValues:        aws.ToString(p.AllowedValues),
		Modifiable:           aws.ToBool(p.IsModifiable),
		MinimumEngineVersion: aws.ToString(p.MinimumEngineVersion),
		Description:          aws.ToString(p.Description),
		ApplyMethod:          p.ApplyMethod,
	}
}

func fromSDKClusterGroup(g types.DBClusterParameterGroup) Group {
	return Group{
		Name:        aws.ToString(g.DBClusterParameterGroupName),
		Kind:        ClusterGroup,
		Family:      aws.ToString(g.DBParameterGroupFamily),
		Description: aws.ToString(g.Description),
		ARN:         aws.ToString(g.DBClusterParameterGroupArn),
	}
}

func fromSDKInstanceGroup(g types.DBParameterGroup) Group {
	return Group{
		Name:        aws.ToString(g.DBParameterGroupName),
		Kind:        InstanceGroup,
		Family:      aws.ToString(g.DBParameterGroupFamily),
		Description: aws.ToString(g.Description),
		ARN:         aws.ToString(g.DBParameterGroupArn),
	}
}
