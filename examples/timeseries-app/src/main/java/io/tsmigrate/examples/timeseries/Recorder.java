package io.tsmigrate.examples.timeseries;

import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Transactional;

import java.util.List;

/** Records readings as the service receives them: a batch per transaction (Hibernate sends JDBC batches). */
@Service
public class Recorder {

    private final Readings readings;

    public Recorder(Readings readings) {
        this.readings = readings;
    }

    @Transactional
    public void record(List<Reading> batch) {
        readings.saveAll(batch);
    }
}
