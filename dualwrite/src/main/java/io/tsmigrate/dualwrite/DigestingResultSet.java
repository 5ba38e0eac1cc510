package io.tsmigrate.dualwrite;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.sql.ResultSet;

/**
 * The primary's result of a shadowed read, handed to the application unchanged: as the application
 * steps through it, each row is added to a digest; when it reaches the end, the shadow read is
 * submitted with that digest. A result not read to its end is not compared (its digest would be
 * partial).
 */
final class DigestingResultSet implements InvocationHandler {

    /** Called once the application has read every row. */
    interface Done {
        void rows(RowDigest digest);
    }

    private final ResultSet delegate;
    private final RowDigest digest;
    private final Done done;
    private boolean finished;

    private DigestingResultSet(ResultSet delegate, RowDigest digest, Done done) {
        this.delegate = delegate;
        this.digest = digest;
        this.done = done;
    }

    static ResultSet wrap(ResultSet delegate, Done done) {
        return (ResultSet) Proxy.newProxyInstance(DigestingResultSet.class.getClassLoader(), new Class<?>[] {ResultSet.class},
                new DigestingResultSet(delegate, new RowDigest(), done));
    }

    @Override
    public Object invoke(Object proxy, Method method, Object[] args) throws Throwable {
        Object result;
        try {
            result = method.invoke(delegate, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
        if (method.getName().equals("next") && !finished) {
            if ((Boolean) result) {
                digest.add(delegate);
            } else {
                finished = true;
                done.rows(digest);
            }
        }
        return result;
    }
}
