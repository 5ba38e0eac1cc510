package io.tsmigrate.core.json;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.cfg.EnumFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jdk8.Jdk8Module;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;

import java.io.UncheckedIOException;

/**
 * The one JSON form tsmigrate writes, for {@code --json} output and state payloads: snake_case
 * names, lower-case enum values, ISO-8601 times, empty {@code Optional}s as {@code null}.
 */
public final class Json {

    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .addModule(new Jdk8Module())
            .addModule(new JavaTimeModule())
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .configure(EnumFeature.WRITE_ENUMS_TO_LOWERCASE, true)
            .configure(com.fasterxml.jackson.databind.MapperFeature.ACCEPT_CASE_INSENSITIVE_ENUMS, true)
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
            .disable(SerializationFeature.WRITE_DURATIONS_AS_TIMESTAMPS)
            .build();

    /**
     * The contract of every command's {@code --json} (README: JSON output), on top of the state's
     * form: a table is its {@code "schema.table"} string; a duration is a number of seconds in a
     * field whose name ends {@code _seconds}; a PostgreSQL timestamptz text ({@code 2026-11-11
     * 00:00:00+00}) is ISO-8601 UTC with {@code Z}. State payloads keep {@link #mapper()}'s form, which
     * they are read back with.
     */
    private static final ObjectMapper OUTPUT = MAPPER.copy().registerModule(new com.fasterxml.jackson.databind.module.SimpleModule("output")
            .addSerializer(io.tsmigrate.core.catalog.TableRef.class, new com.fasterxml.jackson.databind.ser.std.ToStringSerializer())
            .addSerializer(java.time.Duration.class, new com.fasterxml.jackson.databind.ser.std.StdSerializer<>(java.time.Duration.class) {
                @Override
                public void serialize(java.time.Duration d, com.fasterxml.jackson.core.JsonGenerator g,
                                      com.fasterxml.jackson.databind.SerializerProvider p) throws java.io.IOException {
                    g.writeNumber(java.math.BigDecimal.valueOf(d.toMillis(), 3).stripTrailingZeros().toPlainString());
                }
            })
            .addSerializer(String.class, new com.fasterxml.jackson.databind.ser.std.StdSerializer<>(String.class) {
                @Override
                public void serialize(String s, com.fasterxml.jackson.core.JsonGenerator g,
                                      com.fasterxml.jackson.databind.SerializerProvider p) throws java.io.IOException {
                    g.writeString(isoIfTimestamptz(s));
                }
            })
            .setSerializerModifier(new com.fasterxml.jackson.databind.ser.BeanSerializerModifier() {
                @Override
                public java.util.List<com.fasterxml.jackson.databind.ser.BeanPropertyWriter> changeProperties(
                        com.fasterxml.jackson.databind.SerializationConfig config, com.fasterxml.jackson.databind.BeanDescription bean,
                        java.util.List<com.fasterxml.jackson.databind.ser.BeanPropertyWriter> properties) {
                    java.util.List<com.fasterxml.jackson.databind.ser.BeanPropertyWriter> out = new java.util.ArrayList<>();
                    for (com.fasterxml.jackson.databind.ser.BeanPropertyWriter w : properties) {
                        com.fasterxml.jackson.databind.JavaType t = w.getType();
                        boolean duration = t.hasRawClass(java.time.Duration.class) || (t.hasRawClass(java.util.Optional.class)
                                && t.containedTypeCount() == 1 && t.containedType(0).hasRawClass(java.time.Duration.class));
                        out.add(duration && !w.getName().endsWith("_seconds")
                                ? w.rename(new com.fasterxml.jackson.databind.util.NameTransformer() {
                                    @Override
                                    public String transform(String name) {
                                        return name + "_seconds";
                                    }

                                    @Override
                                    public String reverse(String transformed) {
                                        return transformed.replaceFirst("_seconds$", "");
                                    }
                                }) : w);
                    }
                    return out;
                }
            }));

    private static final java.util.regex.Pattern TIMESTAMPTZ =
            java.util.regex.Pattern.compile("\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d(\\.\\d{1,9})?[+-]\\d\\d(:\\d\\d)?");

    private Json() {
    }

    /** PostgreSQL's text of a timestamptz ({@code 2026-11-11 00:00:00+00}) as ISO-8601 UTC; any other text as it is. */
    static String isoIfTimestamptz(String s) {
        if (s == null || s.length() < 22 || !TIMESTAMPTZ.matcher(s).matches()) {
            return s;
        }
        String offset = s.substring(s.length() - 3).matches("[+-]\\d\\d") ? s + ":00" : s;
        return java.time.OffsetDateTime.parse(offset.replace(' ', 'T')).toInstant().toString();
    }

    /** A command's {@code --json} document, pretty-printed, in the output contract's form. */
    public static String output(Object value) {
        try {
            return OUTPUT.writerWithDefaultPrettyPrinter().writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** As {@link #output}, on one line: one document per line, for streams such as {@code status --watch --json}. */
    public static String outputLine(Object value) {
        try {
            return OUTPUT.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A shared, thread-safe mapper; do not reconfigure it. */
    public static ObjectMapper mapper() {
        return MAPPER;
    }

    /** Pretty-printed JSON of {@code value}. */
    public static String write(Object value) {
        try {
            return MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }
}
