package io.tsmigrate.core.connect;

import io.tsmigrate.core.TsmigrateException;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;

/**
 * Where a database is and how to log in to it, parsed from the libpq connection string the user
 * gave ({@code postgres://user:pass@host:port/db?sslmode=require} or {@code host=... dbname=...}).
 * One class turns it into JDBC settings ({@link #jdbc()}) and into what {@code pg_dump} and
 * {@code psql} need ({@link #libpqConninfo()}, {@link #libpqEnvironment()}), so both always reach
 * the same server as the same user.
 *
 * <p>Unset settings take libpq's defaults, including its environment variables ({@code PGHOST},
 * {@code PGPORT}, {@code PGUSER}, {@code PGDATABASE}, {@code PGPASSWORD}, {@code PGSSLMODE}).
 * The password never appears in {@link #toString()}, in {@link #libpqConninfo()} (tools get it
 * through {@code PGPASSWORD}, so it is not visible in the process list) or in error messages.
 * Immutable and thread-safe.
 */
public final class ConnectionSpec {

    /** Debian's libpq looks for the server's socket here when no host is given. */
    static final String DEFAULT_SOCKET_DIRECTORY = "/var/run/postgresql";
    static final int DEFAULT_PORT = 5432;
    private static final int DEFAULT_CONNECT_TIMEOUT_SECONDS = 10;

    /** One server address: a host name or IP, or a Unix socket directory, and a port. */
    public record Endpoint(String host, int port) {
        public boolean isUnixSocket() {
            return host.startsWith("/");
        }

        /** The socket file libpq would use: {@code <dir>/.s.PGSQL.<port>}. */
        public String socketPath() {
            return host + "/.s.PGSQL." + port;
        }

        @Override
        public String toString() {
            return isUnixSocket() ? socketPath() : (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
        }
    }

    /** The JDBC form: a URL and the properties that go with it. */
    public record JdbcSettings(String url, Properties properties) {
    }

    private final String label;
    private final Map<String, String> settings;
    private final Map<String, String> environment;

    private ConnectionSpec(String label, Map<String, String> settings, Map<String, String> environment) {
        this.label = label;
        this.settings = Collections.unmodifiableMap(new LinkedHashMap<>(settings));
        this.environment = environment;
    }

    /**
     * Parses a libpq URI or keyword/value string.
     *
     * @param text  what the user gave
     * @param label what it is, for messages: "source" or "target"
     * @throws TsmigrateException of kind USAGE, with one sentence saying what is wrong
     */
    public static ConnectionSpec parse(String text, String label) {
        return parse(text, label, System.getenv());
    }

    /** As {@link #parse(String, String)}, with libpq's environment variables taken from {@code env}. */
    public static ConnectionSpec parse(String text, String label, Map<String, String> env) {
        ConnectionSpec spec = new ConnectionSpec(label, LibpqSyntax.parse(text, label), Map.copyOf(env));
        if (spec.setting("service").isPresent()) {
            throw LibpqSyntax.bad(label, "uses a service file entry (service=...)",
                    "give host, port, dbname and user directly");
        }
        int hosts = spec.endpoints().size();
        if (hosts > 1 && spec.endpoints().stream().anyMatch(Endpoint::isUnixSocket)) {
            throw LibpqSyntax.bad(label, "mixes a Unix socket directory with other hosts", "give one or the other");
        }
        return spec;
    }

    /** "source" or "target": what this connection is for. */
    public String label() {
        return label;
    }

    /** A setting exactly as given, or from its libpq environment variable. */
    public Optional<String> setting(String keyword) {
        String value = settings.get(keyword);
        if (value == null) {
            String variable = switch (keyword) {
                case "host" -> "PGHOST";
                case "port" -> "PGPORT";
                case "user" -> "PGUSER";
                case "dbname" -> "PGDATABASE";
                case "password" -> "PGPASSWORD";
                case "sslmode" -> "PGSSLMODE";
                default -> null;
            };
            value = variable == null ? null : environment.get(variable);
        }
        return Optional.ofNullable(value).filter(v -> !v.isEmpty());
    }

    public String user() {
        return setting("user").orElse(System.getProperty("user.name"));
    }

    public String database() {
        return setting("dbname").orElse(user());
    }

    public Optional<String> password() {
        return setting("password");
    }

    /** The servers to try, in order, as libpq pairs its host and port lists. */
    public List<Endpoint> endpoints() {
        String[] hosts = setting("hostaddr").or(() -> setting("host")).orElse(DEFAULT_SOCKET_DIRECTORY).split(",", -1);
        String[] ports = setting("port").orElse("").split(",", -1);
        if (ports.length > 1 && ports.length != hosts.length) {
            throw LibpqSyntax.bad(label, "lists " + hosts.length + " hosts but " + ports.length + " ports",
                    "give one port, or one per host");
        }
        List<Endpoint> endpoints = new ArrayList<>();
        for (int i = 0; i < hosts.length; i++) {
            String host = hosts[i].isEmpty() ? DEFAULT_SOCKET_DIRECTORY : hosts[i];
            String port = ports.length == 1 ? ports[0] : ports[i];
            endpoints.add(new Endpoint(host, port.isEmpty() ? DEFAULT_PORT : Integer.parseInt(port)));
        }
        return endpoints;
    }

    /** The same server and login, another database (for tools that create databases). */
    public ConnectionSpec withDatabase(String dbname) {
        Map<String, String> copy = new LinkedHashMap<>(settings);
        copy.put("dbname", dbname);
        return new ConnectionSpec(label, copy, environment);
    }

    /** The same server and database, another login. */
    public ConnectionSpec withLogin(String user, String password) {
        Map<String, String> copy = new LinkedHashMap<>(settings);
        copy.put("user", user);
        copy.put("password", password);
        return new ConnectionSpec(label, copy, environment);
    }

    /** JDBC URL and properties for pgjdbc. */
    public JdbcSettings jdbc() {
        Properties props = new Properties();
        props.setProperty("user", user());
        password().ifPresent(p -> props.setProperty("password", p));
        props.setProperty("ApplicationName", setting("application_name").orElse("tsmigrate"));
        props.setProperty("connectTimeout",
                setting("connect_timeout").orElse(String.valueOf(DEFAULT_CONNECT_TIMEOUT_SECONDS)));
        copy("sslmode", "sslmode", props);
        copy("sslcert", "sslcert", props);
        copy("sslkey", "sslkey", props);
        copy("sslrootcert", "sslrootcert", props);
        copy("sslpassword", "sslpassword", props);
        copy("options", "options", props);
        copy("gssencmode", "gssEncMode", props);
        setting("keepalives").ifPresent(v -> props.setProperty("tcpKeepAlive", String.valueOf(!v.equals("0"))));
        setting("load_balance_hosts").ifPresent(v -> props.setProperty("loadBalanceHosts", String.valueOf(v.equals("random"))));
        setting("target_session_attrs").ifPresent(v -> props.setProperty("targetServerType", switch (v) {
            case "read-write", "primary" -> "primary";
            case "read-only", "standby" -> "secondary";
            case "prefer-standby" -> "preferSecondary";
            default -> "any";
        }));

        List<Endpoint> endpoints = endpoints();
        String hostList;
        if (endpoints.get(0).isUnixSocket()) {
            // pgjdbc speaks TCP only; the socket factory connects to the socket file instead, and
            // libpq never negotiates SSL on a Unix socket, so neither do we.
            props.setProperty("socketFactory", UnixDomainSocketFactory.class.getName());
            props.setProperty("socketFactoryArg", endpoints.get(0).socketPath());
            props.setProperty("sslmode", "disable");
            hostList = "localhost:" + endpoints.get(0).port();
        } else {
            hostList = String.join(",", endpoints.stream().map(Endpoint::toString).toList());
        }
        String url = "jdbc:postgresql://" + hostList + "/" + URLEncoder.encode(database(), StandardCharsets.UTF_8);
        return new JdbcSettings(url, props);
    }

    private void copy(String keyword, String property, Properties props) {
        setting(keyword).ifPresent(v -> props.setProperty(property, v));
    }

    /**
     * A keyword/value connection string for {@code pg_dump}, {@code pg_dumpall} and {@code psql}:
     * every setting the user gave, with the defaults resolved, and without the password (see
     * {@link #libpqEnvironment()}).
     */
    public String libpqConninfo() {
        Map<String, String> out = new LinkedHashMap<>(settings);
        out.remove("password");
        if (!settings.containsKey("hostaddr")) {
            out.put("host", String.join(",", endpoints().stream().map(Endpoint::host).toList()));
        }
        out.put("port", String.join(",", endpoints().stream().map(e -> String.valueOf(e.port())).toList()));
        out.put("user", user());
        out.put("dbname", database());
        setting("sslmode").ifPresent(v -> out.put("sslmode", v));
        StringBuilder sb = new StringBuilder();
        out.forEach((k, v) -> sb.append(sb.length() > 0 ? " " : "").append(k).append("='")
                .append(v.replace("\\", "\\\\").replace("'", "\\'")).append('\''));
        return sb.toString();
    }

    /** Environment for a libpq tool: the password, so that it stays out of the command line. */
    public Map<String, String> libpqEnvironment() {
        return password().map(p -> Map.of("PGPASSWORD", p)).orElse(Map.of());
    }

    /** Short form for messages: {@code host:port/db as user}. */
    public String describe() {
        List<Endpoint> endpoints = endpoints();
        String where = endpoints.size() == 1 ? endpoints.get(0).toString()
                : String.join(",", endpoints.stream().map(Endpoint::toString).toList());
        return where + "/" + database() + " as " + user();
    }

    /** A URI with the password replaced by {@code ****}. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("postgres://");
        sb.append(user());
        if (password().isPresent()) {
            sb.append(":****");
        }
        sb.append('@');
        List<Endpoint> endpoints = endpoints();
        boolean socket = endpoints.get(0).isUnixSocket();
        if (!socket) {
            sb.append(String.join(",", endpoints.stream().map(Endpoint::toString).toList()));
        }
        sb.append('/').append(database());
        List<String> query = new ArrayList<>();
        if (socket) {
            query.add("host=" + endpoints.get(0).host());
            query.add("port=" + endpoints.get(0).port());
        }
        settings.forEach((k, v) -> {
            if (!List.of("host", "hostaddr", "port", "user", "password", "dbname", "sslpassword").contains(k)) {
                query.add(k + "=" + v);
            }
        });
        if (!query.isEmpty()) {
            sb.append('?').append(String.join("&", query));
        }
        return sb.toString();
    }

    /**
     * Removes passwords from any text that may quote a connection string (a URI's user
     * information, {@code password=...} settings), for messages about strings we could not parse.
     */
    public static String redact(String text) {
        return text.replaceAll("(://[^:/@?]*:)[^@/?]*@", "$1****@")
                .replaceAll("(password\\s*=\\s*)('([^'\\\\]|\\\\.)*'|[^\\s&]*)", "$1****");
    }
}
