package io.tsmigrate.examples.timeseries;

import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.IdClass;
import jakarta.persistence.Table;

import java.io.Serializable;
import java.time.Instant;
import java.util.Objects;

/**
 * One reading. Its id is the application's (not a sequence's): under dual-write each database would
 * hand out its own sequence values, and the two sides would differ.
 */
@Entity
@Table(name = "readings")
@IdClass(Reading.Key.class)
public class Reading {

    @Id
    private long id;

    @Id
    private Instant time;

    private String device;

    private double value;

    protected Reading() {
    }

    public Reading(long id, Instant time, String device, double value) {
        this.id = id;
        this.time = time;
        this.device = device;
        this.value = value;
    }

    public long getId() {
        return id;
    }

    public Instant getTime() {
        return time;
    }

    public String getDevice() {
        return device;
    }

    public double getValue() {
        return value;
    }

    /** The primary key: the id and the time column, as a hypertable's keys must include it. */
    public static class Key implements Serializable {
        private long id;
        private Instant time;

        public Key() {
        }

        public Key(long id, Instant time) {
            this.id = id;
            this.time = time;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && k.id == id && Objects.equals(k.time, time);
        }

        @Override
        public int hashCode() {
            return Objects.hash(id, time);
        }
    }
}
