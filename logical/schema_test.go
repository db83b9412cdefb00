package logical

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDiffTable(t *testing.T) {
	tbl := TableName{"public", "t"}
	col := func(name, typ string) ColumnDef { return ColumnDef{Name: name, Type: typ} }
	pub := TableDef{Table: tbl, Columns: []ColumnDef{col("id", "integer"), col("name", "text"), {Name: "g", Type: "integer", Generated: true}}, PrimaryKey: []string{"id"}}
	type short struct {
		Kind DiffKind
		Sev  Severity
		Col  string
	}
	tests := []struct {
		name       string
		sub        *TableDef
		columnList bool
		want       []short
	}{
		{"missing table", nil, false, []short{{DiffMissingTable, SeverityError, ""}}},
		{"same", &pub, false, nil},
		{"generated on publisher only is fine", &TableDef{Table: tbl, Columns: []ColumnDef{col("id", "integer"), col("name", "text")}, PrimaryKey: []string{"id"}}, false, nil},
		{"missing column and type", &TableDef{Table: tbl, Columns: []ColumnDef{col("id", "bigint")}, PrimaryKey: []string{"id"}}, false,
			[]short{{DiffTypeMismatch, SeverityWarning, "id"}, {DiffMissingColumn, SeverityError, "name"}}},
		{"extra columns", &TableDef{Table: tbl, Columns: []ColumnDef{col("id", "integer"), col("name", "text"), col("note", "text"),
			{Name: "must", Type: "int", NotNull: true}, {Name: "dflt", Type: "int", NotNull: true, HasDefault: true}}, PrimaryKey: []string{"id"}}, false,
			[]short{{DiffExtraColumn, SeverityInfo, "note"}, {DiffExtraColumn, SeverityError, "must"}, {DiffExtraColumn, SeverityInfo, "dflt"}}},
		{"extra columns expected with a column list", &TableDef{Table: tbl, Columns: []ColumnDef{col("id", "integer"), col("name", "text"), col("note", "text")}, PrimaryKey: []string{"id"}}, true, nil},
		{"generated on subscriber", &TableDef{Table: tbl, Columns: []ColumnDef{col("id", "integer"), {Name: "name", Type: "text", Generated: true}}, PrimaryKey: []string{"id"}}, false,
			[]short{{DiffTypeMismatch, SeverityError, "name"}}},
		{"no key on subscriber", &TableDef{Table: tbl, Columns: []ColumnDef{col("id", "integer"), col("name", "text")}}, false,
			[]short{{DiffPrimaryKey, SeverityError, ""}}},
		{"other key", &TableDef{Table: tbl, Columns: []ColumnDef{col("id", "integer"), col("name", "text")}, PrimaryKey: []string{"id", "name"}}, false,
			[]short{{DiffPrimaryKey, SeverityWarning, ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []short
			for _, d := range DiffTable(pub, tt.sub, tt.columnList) {
				got = append(got, short{d.Kind, d.Severity, d.Column})
				if d.Message == "" || d.Table != tbl {
					t.Errorf("incomplete difference %+v", d)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	// Both without a key: nothing to say.
	nokey := TableDef{Table: tbl, Columns: []ColumnDef{col("a", "int")}}
	if d := DiffTable(nokey, &nokey, false); len(d) != 0 {
		t.Errorf("no keys: %v", d)
	}
}

func TestCompareSchemas(t *testing.T) {
	t.Parallel()
	p := newPair(t)
	ctx := testCtx(t)
	mustExec(t, p.pubDB.Pool, `CREATE TABLE same (id int PRIMARY KEY, v text);
		CREATE TABLE drift (id int PRIMARY KEY, amount numeric(10,2), note text);
		CREATE TABLE absent (id int PRIMARY KEY);
		CREATE TABLE cols (id int PRIMARY KEY, pub text, private text)`)
	mustExec(t, p.subDB.Pool, `CREATE TABLE same (id int PRIMARY KEY, v text);
		CREATE TABLE drift (id bigint, amount numeric(12,2), extra int NOT NULL);
		CREATE TABLE cols (id int PRIMARY KEY, pub text, local text)`)

	cmpRes, err := CompareSchemas(ctx, p.pubDB.Pool, p.subDB.Pool, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(cmpRes.Tables) != 4 || cmpRes.OK() {
		t.Errorf("tables = %v, OK = %t", cmpRes.Tables, cmpRes.OK())
	}
	type short struct {
		Table string
		Kind  DiffKind
		Col   string
	}
	var got []short
	for _, d := range cmpRes.Differences {
		got = append(got, short{d.Table.Name, d.Kind, d.Column})
		t.Log(d)
	}
	want := []short{
		{"absent", DiffMissingTable, ""},
		{"cols", DiffMissingColumn, "private"},
		{"cols", DiffExtraColumn, "local"},
		{"drift", DiffTypeMismatch, "id"},
		{"drift", DiffTypeMismatch, "amount"},
		{"drift", DiffMissingColumn, "note"},
		{"drift", DiffExtraColumn, "extra"},
		{"drift", DiffPrimaryKey, ""},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	// With a publication's column list, unpublished columns need not
	// exist on the subscriber.
	mustExec(t, p.pubDB.Pool, "CREATE PUBLICATION cl FOR TABLE cols (id, pub), TABLE same")
	cmpRes, err = CompareSchemas(ctx, p.pubDB.Pool, p.subDB.Pool, &CompareOptions{Publication: "cl"})
	if err != nil {
		t.Fatal(err)
	}
	if !cmpRes.OK() || len(cmpRes.Differences) != 0 || len(cmpRes.Tables) != 2 {
		t.Errorf("publication comparison: %+v", cmpRes)
	}
	if _, err := CompareSchemas(ctx, p.pubDB.Pool, p.subDB.Pool, &CompareOptions{Tables: []TableName{{Name: "nope"}}}); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing publisher table: %v", err)
	}
}
