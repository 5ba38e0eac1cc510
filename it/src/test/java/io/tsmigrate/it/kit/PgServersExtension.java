package io.tsmigrate.it.kit;

import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * JUnit 5 extension: starts the suite's source and target servers once (in the root context's
 * store, so they stop when the whole run ends, also after failures; a watchdog stops them if the
 * JVM dies), and gives each test class its own fresh {@link TestDatabases}, dropped after the
 * class. Test methods, constructors and lifecycle methods can take {@link TestDatabases} or
 * {@link TestServers} as parameters.
 */
public final class PgServersExtension implements ParameterResolver {

    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(PgServersExtension.class);

    @Override
    public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
        Class<?> type = parameter.getParameter().getType();
        return type == TestDatabases.class || type == TestServers.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
        TestServers servers = servers(context);
        if (parameter.getParameter().getType() == TestServers.class) {
            return servers;
        }
        Class<?> testClass = context.getRequiredTestClass();
        ExtensionContext classContext = classContext(context);
        return classContext.getStore(NAMESPACE).computeIfAbsent(TestDatabases.class,
                k -> new TestDatabases(servers, testClass.getSimpleName()), TestDatabases.class);
    }

    /** The suite's servers, started on first use. */
    public static TestServers servers(ExtensionContext context) {
        return context.getRoot().getStore(NAMESPACE).computeIfAbsent(TestServers.class,
                k -> TestServers.fromEnvironment(System.getenv()), TestServers.class);
    }

    private static ExtensionContext classContext(ExtensionContext context) {
        ExtensionContext current = context;
        while (current.getTestMethod().isPresent() && current.getParent().isPresent()) {
            current = current.getParent().get();
        }
        return current;
    }
}
