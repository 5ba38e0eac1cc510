package io.tsmigrate.it.kit;

import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

import java.util.Optional;

/**
 * JUnit extension behind {@link NeedsCompression}: skips (with the reason) where the compressing
 * target cannot run, and starts one {@link CompressingTarget} for the whole suite on first use
 * (stopped when the suite ends, also when it fails), emptied before each test that takes it.
 */
public final class CompressingTargetExtension implements ExecutionCondition, ParameterResolver {

    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(CompressingTargetExtension.class);

    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        Optional<String> why = CompressingTarget.unavailable();
        return why.map(w -> ConditionEvaluationResult.disabled("needs a TimescaleDB with compression, which needs Node.js: " + w))
                .orElseGet(() -> ConditionEvaluationResult.enabled("Node.js is available"));
    }

    @Override
    public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
        return parameter.getParameter().getType() == CompressingTarget.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
        CompressingTarget target = context.getRoot().getStore(NAMESPACE).computeIfAbsent(CompressingTarget.class,
                k -> CompressingTarget.start(), CompressingTarget.class);
        target.reset();
        return target;
    }
}
