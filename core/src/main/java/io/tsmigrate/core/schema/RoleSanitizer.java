package io.tsmigrate.core.schema;

import io.tsmigrate.core.schema.SqlTokens.Token;

import java.io.IOException;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Makes {@code pg_dumpall --roles-only} output loadable on a target whose login is not a superuser
 * (a managed service), by understanding each statement rather than editing text: drops the
 * statements about roles that must not be touched ({@code postgres}, {@code tsdbadmin}, the target
 * login) and {@code CREATE ROLE} of roles the target already has; removes the attributes only a
 * superuser may grant (SUPERUSER, REPLICATION, BYPASSRLS and their NO forms) and {@code GRANTED BY}
 * clauses; drops psql meta-commands (the backslash commands restrict, unrestrict and connect).
 */
final class RoleSanitizer {

    private static final Set<String> PRIVILEGED = Set.of("SUPERUSER", "NOSUPERUSER", "REPLICATION", "NOREPLICATION",
            "BYPASSRLS", "NOBYPASSRLS");

    /** The statements to run, in order, and what was left out or changed, for the report. */
    record Result(List<String> statements, List<String> changes) {
    }

    private RoleSanitizer() {
    }

    /**
     * @param skip     roles whose statements are dropped entirely
     * @param existing roles the target already has: their CREATE ROLE is dropped, the rest is kept
     */
    static Result sanitize(String dump, Set<String> skip, Set<String> existing) {
        List<String> statements = new ArrayList<>();
        List<String> changes = new ArrayList<>();
        try {
            new SqlScanner(new SqlScanner.Sink() {
                @Override
                public void statement(String text) {
                    sanitizeOne(text, skip, existing, statements, changes);
                }

                @Override
                public void metaCommand(String line) {
                    // psql-only lines: the statements run over JDBC, one at a time.
                }

                @Override
                public void copyData(String line) {
                    throw new IllegalStateException("a roles dump holds no COPY data");
                }
            }).scan(new StringReader(dump));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new Result(List.copyOf(statements), List.copyOf(changes));
    }

    private static void sanitizeOne(String text, Set<String> skip, Set<String> existing, List<String> statements,
                                    List<String> changes) {
        List<Token> tokens = SqlTokens.tokenize(text);
        if (tokens.isEmpty()) {
            return;
        }
        String sql = text.substring(tokens.get(0).start()).strip();
        if (SqlTokens.startsWith(tokens, "CREATE", "ROLE") && tokens.size() > 2) {
            String role = tokens.get(2).name();
            if (skip.contains(role)) {
                changes.add("left out CREATE ROLE " + role + " (a role tsmigrate never changes)");
            } else if (existing.contains(role)) {
                changes.add("left out CREATE ROLE " + role + " (it exists on the target)");
            } else {
                statements.add(sql);
            }
            return;
        }
        if ((SqlTokens.startsWith(tokens, "ALTER", "ROLE") || SqlTokens.startsWith(tokens, "COMMENT", "ON", "ROLE"))
                && tokens.size() > 3) {
            String role = tokens.get(tokens.get(0).isWord("ALTER") ? 2 : 3).name();
            if (skip.contains(role)) {
                changes.add("left out " + tokens.get(0).value() + " ROLE " + role + " (a role tsmigrate never changes)");
                return;
            }
            if (tokens.get(0).isWord("ALTER")) {
                List<Token> removed = tokens.stream().filter(t -> t.kind() == SqlTokens.Kind.WORD && PRIVILEGED.contains(t.value())).toList();
                if (!removed.isEmpty()) {
                    sql = cut(text, removed).strip();
                    changes.add("removed " + String.join(", ", removed.stream().map(Token::value).toList()) + " from role " + role);
                    List<Token> rest = SqlTokens.tokenize(sql);
                    if (rest.size() <= 5 && rest.size() >= 4 && rest.get(3).isWord("WITH")) {
                        return; // ALTER ROLE x WITH ; — nothing left to set
                    }
                }
            }
            statements.add(sql);
            return;
        }
        if (SqlTokens.startsWith(tokens, "GRANT") || SqlTokens.startsWith(tokens, "REVOKE")) {
            String grantor = null;
            for (int i = 0; i + 2 < tokens.size(); i++) {
                if (tokens.get(i).isWord("GRANTED") && tokens.get(i + 1).isWord("BY")) {
                    grantor = tokens.get(i + 2).name();
                    sql = cut(text, tokens.subList(i, i + 3)).strip();
                    break;
                }
            }
            for (Token t : SqlTokens.tokenize(sql)) {
                if ((t.kind() == SqlTokens.Kind.IDENTIFIER || t.kind() == SqlTokens.Kind.WORD) && skip.contains(t.name())) {
                    changes.add("left out " + sql.replaceAll("\\s+", " ") + " (it names a role tsmigrate never changes)");
                    return;
                }
            }
            if (grantor != null) {
                changes.add("removed GRANTED BY " + grantor + " from a role grant");
            }
            statements.add(sql);
            return;
        }
        statements.add(sql);
    }

    /** The text without the given tokens (and the space before each). */
    private static String cut(String text, List<Token> remove) {
        StringBuilder out = new StringBuilder();
        int at = 0;
        for (Token t : remove) {
            int start = t.start();
            while (start > at && text.charAt(start - 1) == ' ') {
                start--;
            }
            out.append(text, at, start);
            at = t.end();
        }
        out.append(text.substring(at));
        return out.toString();
    }

    /** A statement for display: role passwords replaced by '****'. */
    static String redactPasswords(String statement) {
        List<Token> tokens = SqlTokens.tokenize(statement);
        StringBuilder out = new StringBuilder();
        int at = 0;
        for (int i = 0; i + 1 < tokens.size(); i++) {
            if (tokens.get(i).isWord("PASSWORD") && tokens.get(i + 1).kind() == SqlTokens.Kind.STRING) {
                Token secret = tokens.get(i + 1);
                out.append(statement, at, secret.start()).append("'****'");
                at = secret.end();
            }
        }
        return out.append(statement.substring(at)).toString();
    }
}
