package io.tsmigrate.core.plan;

import io.tsmigrate.core.catalog.TableRef;

import java.util.regex.Pattern;

/**
 * A table pattern as pg_dump's {@code -t} takes it: {@code schema.table} or {@code table} (any
 * schema), where {@code *} matches any characters and {@code ?} one; unquoted names are folded to
 * lower case, quoted ones are taken as written (a doubled {@code ""} inside quotes is one quote).
 */
public record TablePattern(String text, Pattern schema, Pattern name) {

    public static TablePattern parse(String text) {
        String t = text.strip();
        int dot = dotOutsideQuotes(t);
        String schemaPart = dot < 0 ? "*" : t.substring(0, dot);
        String namePart = dot < 0 ? t : t.substring(dot + 1);
        return new TablePattern(text, glob(schemaPart), glob(namePart));
    }

    public boolean matches(TableRef table) {
        return schema.matcher(table.schema()).matches() && name.matcher(table.name()).matches();
    }

    private static int dotOutsideQuotes(String s) {
        boolean quoted = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"') {
                quoted = !quoted;
            } else if (c == '.' && !quoted) {
                return i;
            }
        }
        return -1;
    }

    private static Pattern glob(String part) {
        StringBuilder regex = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < part.length(); i++) {
            char c = part.charAt(i);
            if (c == '"' && quoted && i + 1 < part.length() && part.charAt(i + 1) == '"') {
                regex.append(Pattern.quote("\"")); // "" inside quotes: one literal quote, as pg_dump reads it
                i++;
            } else if (c == '"') {
                quoted = !quoted;
            } else if (c == '*' && !quoted) {
                regex.append(".*");
            } else if (c == '?' && !quoted) {
                regex.append('.');
            } else {
                regex.append(Pattern.quote(String.valueOf(quoted ? c : Character.toLowerCase(c))));
            }
        }
        return Pattern.compile(regex.toString());
    }

    @Override
    public String toString() {
        return text;
    }
}
