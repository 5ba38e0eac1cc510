package io.tsmigrate.core.verify;

import java.math.BigInteger;

/**
 * An order-independent digest of a set of rows: their count and the exact sum of a 64-bit hash of
 * each row ({@code sum(bigint)} is numeric in PostgreSQL: it never overflows, and it accumulates
 * in 128-bit integers, faster than two sums of 32-bit halves).
 */
record Digest(long rows, BigInteger sum) {

    static final Digest EMPTY = new Digest(0, BigInteger.ZERO);

    @Override
    public String toString() {
        return rows + ":" + sum;
    }
}
