package auroratest

import "strings"

// What Aurora enforces, the servers enforce here too (IAM authentication
// is in iam.go):
//
//   - rds.force_ssl=1 puts "hostnossl all all all reject" first in every
//     instance's pg_hba.conf, so a connection without TLS is refused by
//     the server with "pg_hba.conf rejects connection ... no encryption"
//     (SQLSTATE 28000), whichever way it comes; 0 removes it. The
//     parameter is dynamic: applied immediately it takes effect at once
//     (a reload), pending-reboot at the next reboot.
//   - rds.allowed_extensions restricts CREATE EXTENSION: two event
//     triggers in every database (created in template0 and template1 too,
//     so every database has them) note the installed extensions when a
//     CREATE EXTENSION starts and, when it ends, refuse it, rolling it
//     back, if it created an extension (CASCADE included) that the list
//     does not name: "permission denied to create extension" (SQLSTATE
//     42501) with RDS's hint naming rds.allowed_extensions. "*" or an
//     empty value allows all. The list is read from the server's
//     configuration files (pg_file_settings), not the session, so SET
//     cannot widen it. The master user, a real superuser here (unlike on
//     Aurora), could drop the triggers.

// extensionGuardSQL creates the rds.allowed_extensions guard in one
// database.
var extensionGuardSQL = []string{
	`CREATE OR REPLACE FUNCTION pg_catalog.auroratest_extensions_before() RETURNS event_trigger
	LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	BEGIN
		PERFORM set_config('auroratest.extensions_before',
			coalesce((SELECT string_agg(oid::text, ',') FROM pg_extension), ''), true);
	END $$`,
	`CREATE OR REPLACE FUNCTION pg_catalog.auroratest_extensions_check() RETURNS event_trigger
	LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	DECLARE
		allowed text[];
		ext name;
	BEGIN
		SELECT array_agg(btrim(x)) INTO allowed
		FROM unnest(string_to_array((SELECT setting FROM pg_file_settings
			WHERE name = 'rds.allowed_extensions' AND error IS NULL ORDER BY seqno DESC LIMIT 1), ',')) AS x
		WHERE btrim(x) <> '';
		IF allowed IS NULL OR '*' = ANY (allowed) THEN
			RETURN;
		END IF;
		FOR ext IN SELECT e.extname FROM pg_extension e
			WHERE e.oid::text <> ALL (string_to_array(coalesce(current_setting('auroratest.extensions_before', true), ''), ','))
			ORDER BY e.oid
		LOOP
			IF NOT ext = ANY (allowed) THEN
				RAISE EXCEPTION 'permission denied to create extension "%"', ext
					USING ERRCODE = 'insufficient_privilege',
					HINT = 'This extension is not specified in "rds.allowed_extensions".';
			END IF;
		END LOOP;
	END $$`,
	`CREATE EVENT TRIGGER auroratest_extensions_before ON ddl_command_start
	WHEN TAG IN ('CREATE EXTENSION') EXECUTE FUNCTION pg_catalog.auroratest_extensions_before()`,
	`CREATE EVENT TRIGGER auroratest_extensions_check ON ddl_command_end
	WHEN TAG IN ('CREATE EXTENSION') EXECUTE FUNCTION pg_catalog.auroratest_extensions_check()`,
	// Also with session_replication_role = replica.
	`ALTER EVENT TRIGGER auroratest_extensions_before ENABLE ALWAYS`,
	`ALTER EVENT TRIGGER auroratest_extensions_check ENABLE ALWAYS`,
}

// forceSSLHBA is the pg_hba.conf line of rds.force_ssl=1.
const forceSSLHBA = "hostnossl all all all reject"

// paramHBA is the key under which settings maps carry the instance's
// pg_hba.conf lines (one per line); the server gets them with SetHBA, not
// as a setting. No setting can have the name.
const paramHBA = "auroratest:pg_hba"

// hbaFor renders the pg_hba.conf lines of an instance running with
// settings s.
func (e *Emulator) hbaFor(in *instance, s map[string]string) string {
	var lines []string
	if s["rds.force_ssl"] == "1" {
		lines = append(lines, forceSSLHBA)
	}
	if in.cluster.iamAuth && e.iam != nil {
		iam := iamHBA(in.cluster.masterUser, in.id, e.iam.port())
		if in.server != nil && !in.server.Binaries().SupportsLDAP() {
			// A build without LDAP refuses a pg_hba.conf with an ldap
			// line altogether: the token logins are refused instead.
			iam[len(iam)-1] = "hostssl all +rds_iam all reject"
		}
		lines = append(lines, iam...)
	}
	return strings.Join(lines, "\n")
}
