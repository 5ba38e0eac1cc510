package io.tsmigrate.core.schema;

import org.junit.jupiter.api.Test;

import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class RoleSanitizerTest {

    private static final String DUMP = String.join("\n",
            "--",
            "-- PostgreSQL database cluster dump",
            "--",
            "",
            "\\restrict 3fKxQ2",
            "SET default_transaction_read_only = off;",
            "SET client_encoding = 'UTF8';",
            "CREATE ROLE \"postgres\";",
            "ALTER ROLE \"postgres\" WITH SUPERUSER INHERIT CREATEROLE CREATEDB LOGIN REPLICATION BYPASSRLS PASSWORD 'SCRAM-SHA-256$4096:abc';",
            "CREATE ROLE \"tsdbadmin\";",
            "ALTER ROLE \"tsdbadmin\" WITH NOSUPERUSER INHERIT LOGIN;",
            "CREATE ROLE \"app user \"\"quoted\"\"\";",
            "ALTER ROLE \"app user \"\"quoted\"\"\" WITH SUPERUSER INHERIT NOCREATEROLE NOCREATEDB LOGIN NOREPLICATION NOBYPASSRLS PASSWORD 'has SUPERUSER; inside';",
            "CREATE ROLE \"select\";",
            "ALTER ROLE \"select\" WITH NOSUPERUSER NOREPLICATION NOBYPASSRLS;",
            "CREATE ROLE \"existing\";",
            "ALTER ROLE \"existing\" WITH NOSUPERUSER INHERIT LOGIN;",
            "ALTER ROLE \"app user \"\"quoted\"\"\" SET \"search_path\" TO 'app', 'public';",
            "GRANT \"select\" TO \"app user \"\"quoted\"\"\" WITH INHERIT TRUE GRANTED BY \"postgres\";",
            "GRANT \"select\" TO \"postgres\" GRANTED BY \"postgres\";",
            "COMMENT ON ROLE \"tsdbadmin\" IS 'admin';",
            "\\unrestrict 3fKxQ2") + "\n";

    @Test
    void dropsProtectedRolesStripsPrivilegesAndGrantedBy() {
        RoleSanitizer.Result r = RoleSanitizer.sanitize(DUMP, Set.of("postgres", "tsdbadmin"), Set.of("existing"));
        assertThat(r.statements()).containsExactly(
                "SET default_transaction_read_only = off;",
                "SET client_encoding = 'UTF8';",
                "CREATE ROLE \"app user \"\"quoted\"\"\";",
                "ALTER ROLE \"app user \"\"quoted\"\"\" WITH INHERIT NOCREATEROLE NOCREATEDB LOGIN PASSWORD 'has SUPERUSER; inside';",
                "CREATE ROLE \"select\";",
                "ALTER ROLE \"existing\" WITH NOSUPERUSER INHERIT LOGIN;".replace("NOSUPERUSER ", ""),
                "ALTER ROLE \"app user \"\"quoted\"\"\" SET \"search_path\" TO 'app', 'public';",
                "GRANT \"select\" TO \"app user \"\"quoted\"\"\" WITH INHERIT TRUE;");
        assertThat(r.changes()).contains("left out CREATE ROLE postgres (a role tsmigrate never changes)",
                "left out CREATE ROLE existing (it exists on the target)",
                "removed SUPERUSER, NOREPLICATION, NOBYPASSRLS from role app user \"quoted\"",
                "removed GRANTED BY postgres from a role grant");
        assertThat(String.join("\n", r.statements())).doesNotContain("restrict").doesNotContain("tsdbadmin")
                .doesNotContain("GRANTED BY");
    }

    @Test
    void dropsAnAlterThatHadOnlyPrivilegedAttributes() {
        RoleSanitizer.Result r = RoleSanitizer.sanitize("ALTER ROLE \"select\" WITH NOSUPERUSER NOREPLICATION NOBYPASSRLS;\n",
                Set.of(), Set.of());
        assertThat(r.statements()).isEmpty();
    }

    @Test
    void redactsPasswordsForDisplay() {
        assertThat(RoleSanitizer.redactPasswords("ALTER ROLE \"a\" WITH LOGIN PASSWORD 'SCRAM-SHA-256$4096:secret';"))
                .isEqualTo("ALTER ROLE \"a\" WITH LOGIN PASSWORD '****';");
    }
}
