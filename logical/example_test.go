package logical_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pgaurora/pgaurora/logical"
	"github.com/pgaurora/pgaurora/params"
)

func ExampleParameters() {
	changes, err := logical.Parameters(params.SizingInput{
		Publications: 1, Subscriptions: 0, CDCTasks: 2,
		VCPU: 4, MemoryBytes: 32 << 30,
		Current: map[string]string{"max_replication_slots": "20", "max_wal_senders": "10",
			"max_logical_replication_workers": "4"},
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range changes {
		fmt.Println(c)
	}
	// Output:
	// rds.logical_replication=1
	// max_worker_processes=15
}

func ExampleParseWal2JSON() {
	c, err := logical.ParseWal2JSON([]byte(`{"action":"U","xid":741,"lsn":"0/16B3748","schema":"public","table":"accounts",` +
		`"columns":[{"name":"id","type":"integer","value":7},{"name":"balance","type":"numeric","value":12.50}],` +
		`"identity":[{"name":"id","type":"integer","value":7}]}`))
	if err != nil {
		log.Fatal(err)
	}
	balance, _ := c.Column("balance")
	text, _ := balance.Value.Text()
	key, _ := c.OldKey("id")
	fmt.Println(c.Kind, c.Schema+"."+c.Table, "id", key.Value, "balance", text)
	// Output:
	// update public.accounts id 7 balance 12.50
}

func ExampleWal2JSONChanges() {
	stream := `{"action":"I","schema":"public","table":"t","columns":[{"name":"id","type":"integer","value":1}]}
{"action":"D","schema":"public","table":"t","identity":[{"name":"id","type":"integer","value":1}]}
`
	for c, err := range logical.Wal2JSONChanges(strings.NewReader(stream)) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(c.Kind, c.Table)
	}
	// Output:
	// insert t
	// delete t
}

// A cron-style slot check: alert on slots inactive for an hour or holding
// more than 50 GiB of WAL, and drop the inactive ones. The monitor's state
// is kept between runs so that inactivity is measured across them. Not run
// by go test: it needs a cluster whose slots have been idle for an hour
// (TestSlotMonitor checks the same calls against real slots).
func ExampleMonitor() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, "postgres://admin@writer.cluster-x.rds.amazonaws.com/app")
	if err != nil {
		log.Fatal(err)
	}
	var saved logical.MonitorState
	if b, err := os.ReadFile("slots.json"); err == nil {
		_ = json.Unmarshal(b, &saved)
	}
	m, err := logical.NewMonitor(logical.New(pool), logical.SlotPolicy{
		MaxInactive:      time.Hour,
		MaxRetainedBytes: 50 << 30,
		Drop:             true,
		Protect:          []string{"dms_task_slot"},
	}, &logical.MonitorOptions{State: &saved})
	if err != nil {
		log.Fatal(err)
	}
	rep, err := m.Check(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, a := range rep.Alerts() {
		log.Println(a)
	}
	b, _ := json.Marshal(m.State())
	if err := os.WriteFile("slots.json", b, 0o600); err != nil {
		log.Fatal(err)
	}
}
