package pgaurora

// LogLevel is a PostgreSQL message severity, as the settings that take
// one write it: pgaudit.log_level, pglogical.conflict_log_level,
// log_min_messages. Each setting accepts a subset; the package that sets
// it says which.
type LogLevel string

// The PostgreSQL message severities, from least to most severe (log sits
// between info and warning in the server log's own order, but settings
// list it here).
const (
	LogLevelDebug5  LogLevel = "debug5"
	LogLevelDebug4  LogLevel = "debug4"
	LogLevelDebug3  LogLevel = "debug3"
	LogLevelDebug2  LogLevel = "debug2"
	LogLevelDebug1  LogLevel = "debug1"
	LogLevelInfo    LogLevel = "info"
	LogLevelNotice  LogLevel = "notice"
	LogLevelWarning LogLevel = "warning"
	LogLevelError   LogLevel = "error"
	LogLevelLog     LogLevel = "log"
	LogLevelFatal   LogLevel = "fatal"
	LogLevelPanic   LogLevel = "panic"
)
