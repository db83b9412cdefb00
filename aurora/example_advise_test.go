package aurora_test

import (
	"context"
	"fmt"
	"log"

	"github.com/pgaurora/pgaurora/aurora"
)

// Advise checks a cluster against AWS's guidance. It only describes and
// reads, so it is safe on production. The emulator's cluster is created
// with defaults that depart from the guidance; here only the security
// findings are printed.
func ExampleCluster_Advise() {
	ctx := context.Background()
	c := exampleCluster(ctx)
	defer c.Close()

	findings, err := c.Advise(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range findings {
		if f.Category == aurora.CategorySecurity {
			fmt.Printf("%s %s: %s\n", f.Severity, f.ID, f.Evidence)
		}
	}
	// Output:
	// critical storage-not-encrypted: StorageEncrypted=false
	// warning default-master-username: MasterUsername=postgres
	// warning force-ssl-off: rds.force_ssl=0 on the writer
}
