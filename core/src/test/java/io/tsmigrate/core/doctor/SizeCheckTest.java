package io.tsmigrate.core.doctor;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class SizeCheckTest {

    @Test
    void warnsAboveTheRunbooks400Gigabytes() {
        Check big = Doctor.sizeCheck(401L * 1000 * 1000 * 1000,
                List.of(new DoctorResult.TableSize("public.metrics", 390L * 1000 * 1000 * 1000)));
        assertThat(big.status()).isEqualTo(Check.Status.WARNING);
        assertThat(big.message()).startsWith("373 GB; largest: public.metrics 363 GB; above 400 GB the target's disk "
                + "must be provisioned ahead");
    }

    @Test
    void passesAtExactly400Gigabytes() {
        Check edge = Doctor.sizeCheck(400L * 1000 * 1000 * 1000, List.of());
        assertThat(edge.status()).isEqualTo(Check.Status.OK);
        assertThat(edge.message()).isEqualTo("373 GB");
    }
}
