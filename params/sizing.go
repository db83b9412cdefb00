package params

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pgaurora/pgaurora/internal/guc"
)

// SizingInput is what SizeLogicalReplication needs: the planned
// replication and the group's current values.
type SizingInput struct {
	// Publications and Subscriptions are the planned logical replication
	// publications and subscriptions on the cluster.
	Publications, Subscriptions int
	// CDCTasks counts other consumers of replication slots, such as AWS
	// DMS change-data-capture tasks.
	CDCTasks int
	// ActiveSlots is the number of logical replication slots expected to
	// be active at once (walsenders and apply workers in use). When zero,
	// every planned slot (Publications + Subscriptions + CDCTasks) is
	// taken as active.
	ActiveSlots int
	// VCPU and MemoryBytes describe the instance class. They are needed
	// only to evaluate RDS default formulas such as
	// GREATEST(${DBInstanceVCPU*2},8) when a current value is such a
	// formula or is missing.
	VCPU        int
	MemoryBytes int64
	// Current maps parameter names to the group's current values (a
	// number, an RDS formula, or empty/missing for the Aurora default).
	Current map[string]string
}

// Aurora PostgreSQL 15 defaults of the sizing parameters, used when Current
// has no value for one. Formulas follow RDS's syntax.
var sizingDefaults = map[string]string{
	"max_replication_slots":           "20",
	"max_wal_senders":                 "10",
	"max_logical_replication_workers": "4",
	"max_worker_processes":            "GREATEST(${DBInstanceVCPU*2},8)",
	"max_parallel_workers":            "GREATEST(${DBInstanceVCPU/2},8)",
	"autovacuum_max_workers":          "GREATEST({DBInstanceClassMemory/64371566592},3)",
}

// SizeLogicalReplication returns the changes that prepare a cluster
// parameter group for logical replication, following the rules AWS
// documents for Aurora PostgreSQL:
//
//   - rds.logical_replication = 1;
//   - max_replication_slots >= Publications + Subscriptions + CDCTasks;
//   - max_wal_senders and max_logical_replication_workers >= active slots;
//   - max_worker_processes >= max_logical_replication_workers +
//     autovacuum_max_workers + max_parallel_workers (after the changes
//     above), where Aurora's default is GREATEST(2 x vCPU, 8).
//
// It never lowers a value: a parameter already at or above what is needed
// is left out. Current values that are RDS formulas are evaluated with
// VCPU and MemoryBytes; if one cannot be evaluated the function fails
// rather than guess, because a guess could lower a real value. The changes
// have no Method: all of them are static and apply at the next reboot.
func SizeLogicalReplication(in SizingInput) ([]Change, error) {
	for name, v := range map[string]int{"Publications": in.Publications, "Subscriptions": in.Subscriptions,
		"CDCTasks": in.CDCTasks, "ActiveSlots": in.ActiveSlots, "VCPU": in.VCPU} {
		if v < 0 {
			return nil, &ValidationError{Field: name, Value: strconv.Itoa(v), Reason: "is negative; counts are zero or more"}
		}
	}
	if in.MemoryBytes < 0 {
		return nil, &ValidationError{Field: "MemoryBytes", Value: strconv.FormatInt(in.MemoryBytes, 10), Reason: "is negative"}
	}
	env := formulaEnv{vcpu: int64(in.VCPU), memory: in.MemoryBytes}
	cur := make(map[string]string, len(in.Current))
	for k, v := range in.Current {
		if v = strings.TrimSpace(v); v != "" {
			cur[strings.ToLower(k)] = v
		}
	}
	current := func(name string) (int64, error) {
		v := cur[name]
		if v == "" {
			v = sizingDefaults[name]
		}
		n, err := evalFormula(v, env)
		if err != nil {
			return 0, &ValidationError{Param: name, Field: "current value", Value: v,
				Reason: "cannot be evaluated: " + err.Error()}
		}
		return n, nil
	}

	var out []Change
	raise := func(name string, have, need int64) int64 {
		if need > have {
			out = append(out, Change{Name: name, Value: strconv.FormatInt(need, 10)})
			return need
		}
		return have
	}

	if on, ok := guc.ParseBool(cur["rds.logical_replication"]); !ok || !on {
		out = append(out, Change{Name: "rds.logical_replication", Value: "1"})
	}

	slots := int64(in.Publications) + int64(in.Subscriptions) + int64(in.CDCTasks)
	active := int64(in.ActiveSlots)
	if active == 0 {
		active = slots
	}
	names := []string{"max_replication_slots", "max_wal_senders", "max_logical_replication_workers",
		"autovacuum_max_workers", "max_parallel_workers"}
	have := make(map[string]int64, len(names))
	for _, n := range names {
		v, err := current(n)
		if err != nil {
			return nil, err
		}
		have[n] = v
	}
	raise("max_replication_slots", have["max_replication_slots"], slots)
	raise("max_wal_senders", have["max_wal_senders"], active)
	workers := raise("max_logical_replication_workers", have["max_logical_replication_workers"], active)

	need := workers + have["autovacuum_max_workers"] + have["max_parallel_workers"]
	mwp, err := current("max_worker_processes")
	if err != nil {
		return nil, err
	}
	raise("max_worker_processes", mwp, need)
	return out, nil
}

type formulaEnv struct {
	vcpu, memory int64
}

// evalFormula evaluates an integer or the subset of RDS parameter formulas
// used by the sizing defaults: GREATEST(...), LEAST(...), SUM(...), integer
// literals, and {Var}, {Var*N}, {Var/N} (optionally written ${...}) where
// Var is DBInstanceVCPU or DBInstanceClassMemory.
func evalFormula(s string, env formulaEnv) (int64, error) {
	p := &formulaParser{s: strings.TrimSpace(s), env: env}
	v, err := p.expr()
	if err != nil {
		return 0, err
	}
	p.skipSpace()
	if p.i != len(p.s) {
		return 0, fmt.Errorf("unexpected %q at byte %d", p.s[p.i:], p.i)
	}
	return v, nil
}

type formulaParser struct {
	s   string
	i   int
	env formulaEnv
}

func (p *formulaParser) skipSpace() {
	for p.i < len(p.s) && p.s[p.i] == ' ' {
		p.i++
	}
}

func (p *formulaParser) expr() (int64, error) {
	p.skipSpace()
	if p.i >= len(p.s) {
		return 0, fmt.Errorf("empty expression")
	}
	c := p.s[p.i]
	switch {
	case c == '$' || c == '{':
		return p.variable()
	case c == '-' || isASCIIDigit(c):
		return p.number()
	case isASCIILetter(c):
		start := p.i
		for p.i < len(p.s) && isASCIILetter(p.s[p.i]) {
			p.i++
		}
		fn := strings.ToUpper(p.s[start:p.i])
		if fn != "GREATEST" && fn != "LEAST" && fn != "SUM" {
			return 0, fmt.Errorf("unsupported function %s", fn)
		}
		p.skipSpace()
		if p.i >= len(p.s) || p.s[p.i] != '(' {
			return 0, fmt.Errorf("expected ( after %s", fn)
		}
		p.i++
		var args []int64
		for {
			v, err := p.expr()
			if err != nil {
				return 0, err
			}
			args = append(args, v)
			p.skipSpace()
			if p.i >= len(p.s) {
				return 0, fmt.Errorf("unterminated %s(", fn)
			}
			if p.s[p.i] == ',' {
				p.i++
				continue
			}
			if p.s[p.i] == ')' {
				p.i++
				break
			}
			return 0, fmt.Errorf("unexpected %q in %s(", p.s[p.i], fn)
		}
		switch fn {
		case "GREATEST":
			return maxOf(args), nil
		case "LEAST":
			return minOf(args), nil
		default: // SUM
			var t int64
			for _, a := range args {
				t += a
			}
			return t, nil
		}
	}
	return 0, fmt.Errorf("unexpected %q at byte %d", c, p.i)
}

func (p *formulaParser) number() (int64, error) {
	start := p.i
	if p.s[p.i] == '-' {
		p.i++
	}
	for p.i < len(p.s) && isASCIIDigit(p.s[p.i]) {
		p.i++
	}
	return strconv.ParseInt(p.s[start:p.i], 10, 64)
}

func (p *formulaParser) variable() (int64, error) {
	if p.s[p.i] == '$' {
		p.i++
	}
	if p.i >= len(p.s) || p.s[p.i] != '{' {
		return 0, fmt.Errorf("expected { at byte %d", p.i)
	}
	end := strings.IndexByte(p.s[p.i:], '}')
	if end < 0 {
		return 0, fmt.Errorf("unterminated {")
	}
	body := strings.ReplaceAll(p.s[p.i+1:p.i+end], " ", "")
	p.i += end + 1
	name, op, arg := body, byte(0), int64(0)
	if k := strings.IndexAny(body, "*/"); k >= 0 {
		name, op = body[:k], body[k]
		n, err := strconv.ParseInt(body[k+1:], 10, 64)
		if err != nil || (op == '/' && n == 0) {
			return 0, fmt.Errorf("bad operand in {%s}", body)
		}
		arg = n
	}
	var v int64
	switch name {
	case "DBInstanceVCPU":
		if p.env.vcpu <= 0 {
			return 0, fmt.Errorf("needs the instance's vCPU count (SizingInput.VCPU)")
		}
		v = p.env.vcpu
	case "DBInstanceClassMemory":
		if p.env.memory <= 0 {
			return 0, fmt.Errorf("needs the instance's memory (SizingInput.MemoryBytes)")
		}
		v = p.env.memory
	default:
		return 0, fmt.Errorf("unsupported variable %s", name)
	}
	switch op {
	case '*':
		v *= arg
	case '/':
		v /= arg
	}
	return v, nil
}

func maxOf(xs []int64) int64 {
	m := xs[0]
	for _, x := range xs[1:] {
		m = max(m, x)
	}
	return m
}

func minOf(xs []int64) int64 {
	m := xs[0]
	for _, x := range xs[1:] {
		m = min(m, x)
	}
	return m
}
