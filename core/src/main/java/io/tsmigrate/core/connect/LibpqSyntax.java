package io.tsmigrate.core.connect;

import io.tsmigrate.core.TsmigrateException;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Parses the two connection string forms libpq accepts, as the PostgreSQL documentation
 * ("Connection Strings") defines them: the URI {@code postgresql://user:pw@host:port/db?k=v}
 * and the keyword/value form {@code host=h port=5432 dbname='my db'}. The result is libpq's own
 * keyword map, so that what JDBC sees and what pg_dump sees can never disagree.
 */
final class LibpqSyntax {

    /** libpq's connection keywords (PostgreSQL 17); anything else is refused as libpq does. */
    static final Set<String> KEYWORDS = Set.of(
            "host", "hostaddr", "port", "dbname", "user", "password", "passfile", "require_auth",
            "channel_binding", "connect_timeout", "client_encoding", "options", "application_name",
            "fallback_application_name", "keepalives", "keepalives_idle", "keepalives_interval",
            "keepalives_count", "tcp_user_timeout", "replication", "gssencmode", "sslmode",
            "sslnegotiation", "requiressl", "sslcompression", "sslcert", "sslkey", "sslpassword",
            "sslcertmode", "sslrootcert", "sslcrl", "sslcrldir", "sslsni", "requirepeer",
            "ssl_min_protocol_version", "ssl_max_protocol_version", "krbsrvname", "gsslib",
            "gssdelegation", "service", "target_session_attrs", "load_balance_hosts",
            "sslkeylogfile", "min_protocol_version", "max_protocol_version");

    private LibpqSyntax() {
    }

    static boolean isUri(String text) {
        return text.startsWith("postgresql://") || text.startsWith("postgres://");
    }

    /** Parses either form; {@code label} ("source", "target") names the string in errors. */
    static Map<String, String> parse(String text, String label) {
        String trimmed = text.strip();
        if (trimmed.isEmpty()) {
            throw bad(label, "is empty", "give a postgres://user:password@host:port/dbname URI");
        }
        if (isUri(trimmed)) {
            return parseUri(trimmed, label);
        }
        if (trimmed.contains("=")) {
            return parseKeywordValue(trimmed, label);
        }
        throw bad(label, "is neither a postgres:// URI nor keyword=value settings",
                "give a URI such as postgres://user:password@host:5432/dbname");
    }

    private static Map<String, String> parseUri(String uri, String label) {
        Map<String, String> out = new LinkedHashMap<>();
        String rest = uri.substring(uri.indexOf("://") + 3);
        String query = null;
        int q = rest.indexOf('?');
        if (q >= 0) {
            query = rest.substring(q + 1);
            rest = rest.substring(0, q);
        }
        int slash = rest.indexOf('/');
        String authority = slash >= 0 ? rest.substring(0, slash) : rest;
        if (slash >= 0 && slash + 1 < rest.length()) {
            out.put("dbname", decode(rest.substring(slash + 1), label));
        }
        // '@' cannot occur in a host name, so the last one ends the user information.
        int at = authority.lastIndexOf('@');
        if (at >= 0) {
            String userinfo = authority.substring(0, at);
            authority = authority.substring(at + 1);
            int colon = userinfo.indexOf(':');
            String user = colon >= 0 ? userinfo.substring(0, colon) : userinfo;
            if (!user.isEmpty()) {
                out.put("user", decode(user, label));
            }
            if (colon >= 0) {
                out.put("password", decode(userinfo.substring(colon + 1), label));
            }
        }
        parseHostList(authority, label, out);
        if (query != null && !query.isEmpty()) {
            for (String pair : query.split("&")) {
                if (pair.isEmpty()) {
                    continue;
                }
                int eq = pair.indexOf('=');
                if (eq <= 0) {
                    throw bad(label, "has a query parameter without a value: \"" + redactPair(pair) + "\"",
                            "write it as key=value");
                }
                String key = decode(pair.substring(0, eq), label);
                String value = decode(pair.substring(eq + 1), label);
                // libpq maps the JDBC spelling ssl=true to sslmode=require for compatibility.
                if (key.equals("ssl") && value.equals("true")) {
                    key = "sslmode";
                    value = "require";
                }
                put(out, key, value, label);
            }
        }
        return out;
    }

    private static void parseHostList(String authority, String label, Map<String, String> out) {
        if (authority.isEmpty()) {
            return;
        }
        List<String> hosts = new ArrayList<>();
        List<String> ports = new ArrayList<>();
        for (String spec : authority.split(",", -1)) {
            String host = spec;
            String port = "";
            if (spec.startsWith("[")) {
                int close = spec.indexOf(']');
                if (close < 0) {
                    throw bad(label, "has an IPv6 address without its closing bracket", "write it as [::1]:5432");
                }
                host = spec.substring(1, close);
                String after = spec.substring(close + 1);
                if (after.startsWith(":")) {
                    port = after.substring(1);
                } else if (!after.isEmpty()) {
                    throw bad(label, "has unexpected text after an IPv6 address", "write it as [::1]:5432");
                }
            } else {
                int colon = spec.lastIndexOf(':');
                if (colon >= 0) {
                    host = spec.substring(0, colon);
                    port = spec.substring(colon + 1);
                }
            }
            port = decode(port, label);
            if (!port.isEmpty()) {
                checkPort(port, label);
            }
            hosts.add(decode(host, label));
            ports.add(port);
        }
        if (hosts.stream().anyMatch(h -> !h.isEmpty())) {
            out.put("host", String.join(",", hosts));
        }
        if (ports.stream().anyMatch(p -> !p.isEmpty())) {
            out.put("port", String.join(",", ports));
        }
    }

    private static Map<String, String> parseKeywordValue(String text, String label) {
        Map<String, String> out = new LinkedHashMap<>();
        int i = 0;
        int n = text.length();
        while (true) {
            while (i < n && Character.isWhitespace(text.charAt(i))) {
                i++;
            }
            if (i >= n) {
                return out;
            }
            int keyStart = i;
            while (i < n && text.charAt(i) != '=' && !Character.isWhitespace(text.charAt(i))) {
                i++;
            }
            String key = text.substring(keyStart, i);
            while (i < n && Character.isWhitespace(text.charAt(i))) {
                i++;
            }
            if (i >= n || text.charAt(i) != '=') {
                throw bad(label, "has \"" + key + "\" without \"=value\"", "write settings as key=value, separated by spaces");
            }
            i++;
            while (i < n && Character.isWhitespace(text.charAt(i))) {
                i++;
            }
            StringBuilder value = new StringBuilder();
            if (i < n && text.charAt(i) == '\'') {
                i++;
                boolean closed = false;
                while (i < n) {
                    char c = text.charAt(i++);
                    if (c == '\\' && i < n) {
                        value.append(text.charAt(i++));
                    } else if (c == '\'') {
                        closed = true;
                        break;
                    } else {
                        value.append(c);
                    }
                }
                if (!closed) {
                    throw bad(label, "has an unterminated quoted value for \"" + key + "\"", "close the quote");
                }
            } else {
                while (i < n && !Character.isWhitespace(text.charAt(i))) {
                    char c = text.charAt(i++);
                    if (c == '\\' && i < n) {
                        value.append(text.charAt(i++));
                    } else {
                        value.append(c);
                    }
                }
            }
            put(out, key, value.toString(), label);
        }
    }

    /** The values libpq accepts for its settings that take one of a few words: anything else is a typo. */
    private static final Map<String, List<String>> CHOICES = Map.of(
            "sslmode", List.of("disable", "allow", "prefer", "require", "verify-ca", "verify-full"),
            "gssencmode", List.of("disable", "prefer", "require"),
            "target_session_attrs", List.of("any", "read-write", "read-only", "primary", "standby", "prefer-standby"),
            "load_balance_hosts", List.of("disable", "random"));

    private static void put(Map<String, String> out, String key, String value, String label) {
        if (!KEYWORDS.contains(key)) {
            throw bad(label, "has an unknown connection setting \"" + key + "\"",
                    "use libpq's names (host, port, dbname, user, password, sslmode, ...)");
        }
        List<String> allowed = CHOICES.get(key);
        if (allowed != null && !allowed.contains(value)) {
            throw bad(label, "has an invalid " + key + " \"" + value + "\"", "use one of " + String.join(", ", allowed));
        }
        if (key.equals("connect_timeout") && !value.matches("-?\\d+")) {
            throw bad(label, "has an invalid connect_timeout \"" + value + "\"", "give a number of seconds");
        }
        if (key.equals("port")) {
            for (String p : value.split(",", -1)) {
                if (!p.isEmpty()) {
                    checkPort(p, label);
                }
            }
        }
        out.put(key, value);
    }

    private static void checkPort(String port, String label) {
        int value;
        try {
            value = Integer.parseInt(port);
        } catch (NumberFormatException e) {
            throw bad(label, "has an invalid port \"" + port + "\"", "give a number from 1 to 65535");
        }
        if (value < 1 || value > 65535) {
            throw bad(label, "has an invalid port \"" + port + "\"", "give a number from 1 to 65535");
        }
    }

    /** Percent-decoding as libpq does it: every part, UTF-8, '+' stays '+'. */
    private static String decode(String part, String label) {
        if (part.indexOf('%') < 0) {
            return part;
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (int i = 0; i < part.length(); i++) {
            char c = part.charAt(i);
            if (c == '%') {
                if (i + 2 >= part.length()) {
                    throw bad(label, "has an incomplete percent-encoded character", "write a literal % as %25");
                }
                int hi = Character.digit(part.charAt(i + 1), 16);
                int lo = Character.digit(part.charAt(i + 2), 16);
                if (hi < 0 || lo < 0) {
                    throw bad(label, "has an invalid percent-encoded character", "write a literal % as %25");
                }
                bytes.write(hi * 16 + lo);
                i += 2;
            } else {
                byte[] b = String.valueOf(c).getBytes(StandardCharsets.UTF_8);
                bytes.write(b, 0, b.length);
            }
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    private static String redactPair(String pair) {
        return pair.startsWith("password") ? "password=****" : pair;
    }

    static TsmigrateException bad(String label, String problem, String fix) {
        return TsmigrateException.usage("the " + label + " connection string " + problem + "; " + fix + ".");
    }
}
