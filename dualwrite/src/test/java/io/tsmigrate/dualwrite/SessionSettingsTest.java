package io.tsmigrate.dualwrite;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class SessionSettingsTest {

    @Test
    void followsSetResetAndDiscardOneStatementPerSetting() {
        SessionSettings s = new SessionSettings();
        assertThat(SessionSettings.changesSettings("SET LOCAL TimeZone = 'UTC'")).as("transaction-scoped: a write").isFalse();
        assertThat(SessionSettings.changesSettings("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")).isFalse();
        assertThat(SessionSettings.changesSettings("set time zone 'Asia/Tokyo';")).isTrue();
        s.accepted("SET TimeZone = 'Asia/Tokyo'");
        s.accepted("SET search_path TO app, public");
        s.accepted("SET SESSION \"TimeZone\" TO 'Europe/Paris'");
        assertThat(s.statements()).containsExactly("SET search_path TO app, public", "SET SESSION \"TimeZone\" TO 'Europe/Paris'");
        assertThat(s.localChange("RESET ALL")).containsExactly("SET LOCAL search_path TO DEFAULT", "SET LOCAL TimeZone TO DEFAULT");
        assertThat(s.localChange("reset search_path")).containsExactly("SET LOCAL search_path TO DEFAULT");
        assertThat(s.localChange("SET work_mem = '64MB'")).containsExactly("SET LOCAL work_mem = '64MB'");
        s.accepted("RESET search_path");
        assertThat(s.statements()).containsExactly("SET SESSION \"TimeZone\" TO 'Europe/Paris'");
        assertThat(SessionSettings.local(s.statements().get(0))).isEqualTo("SET LOCAL \"TimeZone\" TO 'Europe/Paris'");
        assertThat(SessionSettings.dropsAll("DISCARD ALL")).isTrue();
        assertThat(SessionSettings.dropsAll("RESET ALL;")).isTrue();
        assertThat(SessionSettings.dropsAll("DISCARD PLANS")).isFalse();
        s.accepted("DISCARD ALL");
        assertThat(s.statements()).isEmpty();
    }

    @Test
    void aDateStyleKeepsItsInputOrderWithTheIsoOutputPgjdbcNeeds() {
        assertThat(SessionSettings.driverSafe("SET DateStyle = 'SQL, DMY'")).isEqualTo("SET DateStyle = 'ISO, DMY'");
        assertThat(SessionSettings.driverSafe("set datestyle to postgres, us;")).isEqualTo("set datestyle to 'ISO, MDY'");
        assertThat(SessionSettings.driverSafe("SET LOCAL DateStyle = 'German'")).as("German alone reads day first")
                .isEqualTo("SET LOCAL DateStyle = 'ISO, DMY'");
        assertThat(SessionSettings.driverSafe("SET SESSION \"DateStyle\" = 'YMD, SQL'")).isEqualTo("SET SESSION \"DateStyle\" = 'ISO, YMD'");
        assertThat(SessionSettings.driverSafe("SET DateStyle = 'SQL'")).as("a style alone keeps the order").isEqualTo("SET DateStyle = 'ISO'");
        assertThat(SessionSettings.driverSafe("SET DateStyle TO DEFAULT")).isEqualTo("SET DateStyle TO DEFAULT");
        assertThat(SessionSettings.driverSafe("SET TimeZone = 'UTC'")).isEqualTo("SET TimeZone = 'UTC'");
        assertThat(SessionSettings.driverSafe("INSERT INTO t VALUES ('SET DateStyle = SQL')")).isEqualTo("INSERT INTO t VALUES ('SET DateStyle = SQL')");
    }
}
