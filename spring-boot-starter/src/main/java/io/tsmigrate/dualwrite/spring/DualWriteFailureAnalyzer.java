package io.tsmigrate.dualwrite.spring;

import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/** Says which {@code tsmigrate.dualwrite} property stopped the application from starting, and what to do, instead of a trace. */
public class DualWriteFailureAnalyzer extends AbstractFailureAnalyzer<DualWriteConfigurationException> {

    @Override
    protected FailureAnalysis analyze(Throwable root, DualWriteConfigurationException cause) {
        return new FailureAnalysis(cause.getMessage(), cause.action(), cause);
    }
}
