package aurora

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/pi"
)

// Monitoring is the client for the cluster's monitoring: its CloudWatch
// metrics and alarms, Performance Insights, and the export of its logs to
// CloudWatch Logs. Get it with Cluster.Monitoring.
//
// It calls the monitoring services besides RDS: CloudWatch, CloudWatch
// Logs (the exported PostgreSQL log, which AuditEntries also reads) and
// Performance Insights. Each client comes from WithAWSConfig unless an
// option sets it; a call that needs one the Cluster lacks fails with
// ErrNoClient before any side effect.
type Monitoring struct{ c *Cluster }

// Monitoring returns the monitoring client. It is cheap and holds no
// state.
func (c *Cluster) Monitoring() *Monitoring { return &Monitoring{c: c} }

// CloudWatchAPI is the part of the CloudWatch API a Cluster calls.
// *cloudwatch.Client satisfies it.
type CloudWatchAPI interface {
	GetMetricData(ctx context.Context, in *cloudwatch.GetMetricDataInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error)
	ListMetrics(ctx context.Context, in *cloudwatch.ListMetricsInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.ListMetricsOutput, error)
	PutMetricAlarm(ctx context.Context, in *cloudwatch.PutMetricAlarmInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.PutMetricAlarmOutput, error)
	DescribeAlarms(ctx context.Context, in *cloudwatch.DescribeAlarmsInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error)
	DeleteAlarms(ctx context.Context, in *cloudwatch.DeleteAlarmsInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.DeleteAlarmsOutput, error)
}

// CloudWatchLogsAPI is the part of the CloudWatch Logs API a Cluster
// calls. *cloudwatchlogs.Client satisfies it.
type CloudWatchLogsAPI interface {
	DescribeLogStreams(ctx context.Context, in *cloudwatchlogs.DescribeLogStreamsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogStreamsOutput, error)
	FilterLogEvents(ctx context.Context, in *cloudwatchlogs.FilterLogEventsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.FilterLogEventsOutput, error)
}

// PerformanceInsightsAPI is the part of the Performance Insights API a
// Cluster calls. *pi.Client satisfies it.
type PerformanceInsightsAPI interface {
	GetResourceMetrics(ctx context.Context, in *pi.GetResourceMetricsInput, optFns ...func(*pi.Options)) (*pi.GetResourceMetricsOutput, error)
	DescribeDimensionKeys(ctx context.Context, in *pi.DescribeDimensionKeysInput, optFns ...func(*pi.Options)) (*pi.DescribeDimensionKeysOutput, error)
}

// ErrNoClient is returned (wrapped, with the option that provides the
// client) by a call that needs a monitoring client the Cluster was not
// given: it was made with WithRDSClient alone.
var ErrNoClient = errors.New("aurora: no client for the service")

// WithCloudWatchClient makes the Cluster read metrics and manage alarms
// through api. It wins over WithAWSConfig.
func WithCloudWatchClient(api CloudWatchAPI) Option {
	return func(s *settings) error {
		if api == nil {
			return errors.New("WithCloudWatchClient: nil client")
		}
		s.cloudWatch = api
		return nil
	}
}

// WithCloudWatchLogsClient makes the Cluster read exported logs through
// api. It wins over WithAWSConfig.
func WithCloudWatchLogsClient(api CloudWatchLogsAPI) Option {
	return func(s *settings) error {
		if api == nil {
			return errors.New("WithCloudWatchLogsClient: nil client")
		}
		s.logs = api
		return nil
	}
}

// WithPerformanceInsightsClient makes the Cluster read Performance
// Insights through api. It wins over WithAWSConfig.
func WithPerformanceInsightsClient(api PerformanceInsightsAPI) Option {
	return func(s *settings) error {
		if api == nil {
			return errors.New("WithPerformanceInsightsClient: nil client")
		}
		s.pi = api
		return nil
	}
}

// monitoringClients fills the monitoring clients WithAWSConfig provides
// and no option set.
func (s *settings) monitoringClients() {
	if s.awsConfig == nil {
		return
	}
	if s.cloudWatch == nil {
		s.cloudWatch = cloudwatch.NewFromConfig(*s.awsConfig)
	}
	if s.logs == nil {
		s.logs = cloudwatchlogs.NewFromConfig(*s.awsConfig)
	}
	if s.pi == nil {
		s.pi = pi.NewFromConfig(*s.awsConfig)
	}
}

// cloudWatchClient returns the Cluster's CloudWatch client, or an error
// matching ErrNoClient.
func (c *Cluster) cloudWatchClient() (CloudWatchAPI, error) {
	if c.cfg.cloudWatch == nil {
		return nil, fmt.Errorf("%w: CloudWatch: pass WithAWSConfig or WithCloudWatchClient to New", ErrNoClient)
	}
	return c.cfg.cloudWatch, nil
}

// logsClient returns the Cluster's CloudWatch Logs client, or an error
// matching ErrNoClient.
func (c *Cluster) logsClient() (CloudWatchLogsAPI, error) {
	if c.cfg.logs == nil {
		return nil, fmt.Errorf("%w: CloudWatch Logs: pass WithAWSConfig or WithCloudWatchLogsClient to New", ErrNoClient)
	}
	return c.cfg.logs, nil
}

// piClient returns the Cluster's Performance Insights client, or an error
// matching ErrNoClient.
func (c *Cluster) piClient() (PerformanceInsightsAPI, error) {
	if c.cfg.pi == nil {
		return nil, fmt.Errorf("%w: Performance Insights: pass WithAWSConfig or WithPerformanceInsightsClient to New", ErrNoClient)
	}
	return c.cfg.pi, nil
}
