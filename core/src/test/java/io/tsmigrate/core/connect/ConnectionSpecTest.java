package io.tsmigrate.core.connect;

import io.tsmigrate.core.TsmigrateException;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Properties;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ConnectionSpecTest {

    private static ConnectionSpec parse(String text) {
        return ConnectionSpec.parse(text, "source", Map.of());
    }

    @Test
    void readsTheRunbooksUriForm() {
        ConnectionSpec spec = parse("postgres://tsdbadmin:s3cret@db.example.com:34567/tsdb?sslmode=require");
        assertThat(spec.user()).isEqualTo("tsdbadmin");
        assertThat(spec.password()).contains("s3cret");
        assertThat(spec.database()).isEqualTo("tsdb");
        assertThat(spec.endpoints()).containsExactly(new ConnectionSpec.Endpoint("db.example.com", 34567));
        ConnectionSpec.JdbcSettings jdbc = spec.jdbc();
        assertThat(jdbc.url()).isEqualTo("jdbc:postgresql://db.example.com:34567/tsdb");
        assertThat(jdbc.properties()).containsEntry("user", "tsdbadmin").containsEntry("password", "s3cret")
                .containsEntry("sslmode", "require").containsEntry("ApplicationName", "tsmigrate");
    }

    @Test
    void acceptsPostgresqlSchemeAndDefaultsPortAndDatabase() {
        ConnectionSpec spec = parse("postgresql://alice@localhost");
        assertThat(spec.endpoints()).containsExactly(new ConnectionSpec.Endpoint("localhost", 5432));
        assertThat(spec.database()).isEqualTo("alice");
        assertThat(spec.password()).isEmpty();
    }

    @Test
    void decodesPercentEncodedParts() {
        ConnectionSpec spec = parse("postgres://us%40er:p%40ss%3Aw%2Fo%25rd@h:5433/my%20db");
        assertThat(spec.user()).isEqualTo("us@er");
        assertThat(spec.password()).contains("p@ss:w/o%rd");
        assertThat(spec.database()).isEqualTo("my db");
        assertThat(spec.jdbc().url()).isEqualTo("jdbc:postgresql://h:5433/my+db");
    }

    @Test
    void takesSocketDirectoryFromQueryOrEncodedHost() {
        ConnectionSpec query = parse("postgres://app@/appdb?host=/run/postgresql&port=5433");
        assertThat(query.endpoints()).containsExactly(new ConnectionSpec.Endpoint("/run/postgresql", 5433));
        assertThat(query.endpoints().get(0).socketPath()).isEqualTo("/run/postgresql/.s.PGSQL.5433");
        Properties props = query.jdbc().properties();
        assertThat(props).containsEntry("socketFactory", UnixDomainSocketFactory.class.getName())
                .containsEntry("socketFactoryArg", "/run/postgresql/.s.PGSQL.5433")
                .containsEntry("sslmode", "disable");

        ConnectionSpec encoded = parse("postgresql://%2Fvar%2Frun%2Fpostgresql/appdb");
        assertThat(encoded.endpoints()).containsExactly(new ConnectionSpec.Endpoint("/var/run/postgresql", 5432));
    }

    @Test
    void readsSeveralQueryParameters() {
        ConnectionSpec spec = parse("postgres://u:p@h/db?sslmode=verify-full&sslrootcert=/etc/ca.pem"
                + "&application_name=backfill&connect_timeout=5&target_session_attrs=read-write");
        Properties props = spec.jdbc().properties();
        assertThat(props).containsEntry("sslmode", "verify-full").containsEntry("sslrootcert", "/etc/ca.pem")
                .containsEntry("ApplicationName", "backfill").containsEntry("connectTimeout", "5")
                .containsEntry("targetServerType", "primary");
    }

    @Test
    void readsSeveralHosts() {
        ConnectionSpec spec = parse("postgres://u@h1:5432,h2:5433,[::1]:5434/db");
        assertThat(spec.endpoints()).containsExactly(new ConnectionSpec.Endpoint("h1", 5432),
                new ConnectionSpec.Endpoint("h2", 5433), new ConnectionSpec.Endpoint("::1", 5434));
        assertThat(spec.jdbc().url()).isEqualTo("jdbc:postgresql://h1:5432,h2:5433,[::1]:5434/db");
    }

    @Test
    void readsKeywordValueStrings() {
        ConnectionSpec spec = parse("host=db.internal port=6543 dbname='my app' user=bob password='it''s \\'quoted\\''"
                .replace("''s", "\\'s"));
        assertThat(spec.endpoints()).containsExactly(new ConnectionSpec.Endpoint("db.internal", 6543));
        assertThat(spec.database()).isEqualTo("my app");
        assertThat(spec.user()).isEqualTo("bob");
        assertThat(spec.password()).contains("it's 'quoted'");
    }

    @Test
    void takesLibpqEnvironmentDefaults() {
        ConnectionSpec spec = ConnectionSpec.parse("postgres://h/db", "target",
                Map.of("PGUSER", "envuser", "PGPASSWORD", "envpw", "PGPORT", "6000"));
        assertThat(spec.user()).isEqualTo("envuser");
        assertThat(spec.password()).contains("envpw");
        assertThat(spec.endpoints().get(0).port()).isEqualTo(6000);
    }

    @Test
    void neverShowsThePassword() {
        ConnectionSpec spec = parse("postgres://bob:hunter2@db:5432/app?sslmode=require");
        assertThat(spec.toString()).isEqualTo("postgres://bob:****@db:5432/app?sslmode=require").doesNotContain("hunter2");
        assertThat(spec.describe()).doesNotContain("hunter2");
        assertThat(spec.libpqConninfo()).doesNotContain("hunter2").contains("host='db'").contains("sslmode='require'");
        assertThat(spec.libpqEnvironment()).containsEntry("PGPASSWORD", "hunter2");
        ConnectionSpec kv = parse("host=db password=hunter2 dbname=app");
        assertThat(kv.toString()).doesNotContain("hunter2");
    }

    @Test
    void redactsPasswordsInFreeText() {
        assertThat(ConnectionSpec.redact("bad uri postgres://bob:hunter2@db/app and password=hunter2 or password='a b'"))
                .doesNotContain("hunter2").doesNotContain("a b").contains("postgres://bob:****@db/app");
    }

    @Test
    void quotesValuesForLibpqTools() {
        ConnectionSpec spec = parse("postgres://o%27neil@h/we%27ird");
        assertThat(spec.libpqConninfo()).contains("user='o\\'neil'").contains("dbname='we\\'ird'");
    }

    @Test
    void rejectsMalformedInputWithOneSentence() {
        assertThatThrownBy(() -> parse("mysql://h/db")).isInstanceOf(TsmigrateException.class)
                .hasMessage("the source connection string is neither a postgres:// URI nor keyword=value settings; "
                        + "give a URI such as postgres://user:password@host:5432/dbname.");
        assertThatThrownBy(() -> parse("postgres://u:secret@h:99999/db")).hasMessageContaining("invalid port \"99999\"")
                .hasMessageNotContaining("secret");
        assertThatThrownBy(() -> parse("postgres://h/db?sslmod=require")).hasMessageContaining("unknown connection setting \"sslmod\"");
        assertThatThrownBy(() -> parse("postgres://h/d%zzb")).hasMessageContaining("invalid percent-encoded");
        assertThatThrownBy(() -> parse("host=h dbname")).hasMessageContaining("\"dbname\" without \"=value\"");
        assertThatThrownBy(() -> parse("host='h")).hasMessageContaining("unterminated quoted value");
        assertThatThrownBy(() -> parse("   ")).hasMessageContaining("is empty");
        assertThat(catchKind(() -> parse("postgres://[::1/db"))).isEqualTo(TsmigrateException.Kind.USAGE);
    }

    private static TsmigrateException.Kind catchKind(Runnable r) {
        try {
            r.run();
            return null;
        } catch (TsmigrateException e) {
            return e.kind();
        }
    }
}
