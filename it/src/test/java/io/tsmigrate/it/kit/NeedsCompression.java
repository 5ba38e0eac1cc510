package io.tsmigrate.it.kit;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.extension.ExtendWith;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks tests that need a TimescaleDB with compression: each test method may take a fresh
 * {@link CompressingTarget} as a parameter. Where Node.js is not available the tests are reported
 * as skipped, with the reason, never as passed.
 */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@Tag("compression")
@ExtendWith(CompressingTargetExtension.class)
public @interface NeedsCompression {
}
