package io.tsmigrate.examples.timeseries;

import org.springframework.data.jpa.repository.JpaRepository;

/** The readings, through Spring Data JPA. */
public interface Readings extends JpaRepository<Reading, Reading.Key> {
}
