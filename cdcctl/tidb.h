/* tidb: the TiDB side of the bootstrap over the MySQL protocol (MariaDB
 * Connector/C): wait until TiDB (and PD's TiKV store) is ready, apply the schema
 * file statement by statement, create users with escaped names and passwords,
 * grant and verify privileges, report the server version. Works against TiDB
 * (MySQL 8 dialect) and MariaDB 10.11 (the test endpoint).
 *
 * Passwords are only ever sent inside SQL statements on the connection; they
 * never reach argv, logs, progress lines or error text (server messages that
 * could echo a statement are scrubbed). */
#ifndef CDCCTL_TIDB_H
#define CDCCTL_TIDB_H
#include <stddef.h>
#include <stdio.h>

#include "manifest.h"

struct tidb_conn; /* one MySQL connection (opaque) */

/* Connects to "host:port" (TCP, also for "localhost"; "[v6]:port" accepted) as
 * user/password (password may be NULL or ""), with connect/read/write timeouts of
 * timeout_s. *out owns the connection (tidb_close). CC_ERR with "errno message"
 * in err (the password is never in it); *server_errno (may be NULL) gets the
 * MySQL error number (1045 access denied, 2002/2003 cannot connect, 0 on success).
 * CC_EINVAL for a malformed hostport. */
int tidb_connect(const char *hostport, const char *user, const char *password, double timeout_s,
                 struct tidb_conn **out, unsigned *server_errno, char *err, size_t errlen);

/* Closes and frees; accepts NULL. */
void tidb_close(struct tidb_conn *c);

/* Waits until PD at "host:port" reports a TiKV store with state_name "Up"
 * (GET /pd/api/v1/stores), polling with backoff until the monotonic `deadline`.
 * Prints "tidb: waiting for TiKV store to be Up (PD says: Disconnected)" to
 * progress (may be NULL) whenever what it waits for changes. CC_OK,
 * CC_ENOTFOUND when PD cannot be reached at all on the first attempt (caller
 * decides whether to skip the step), CC_ETIMEOUT with the last PD answer. */
int tidb_wait_pd_store_up(const char *pd_hostport, double deadline, FILE *progress, char *err,
                          size_t errlen);

/* Parses a PD /pd/api/v1/stores body: returns 1 if some store is "Up", 0 if
 * not, -1 on malformed input; states_out gets "Up", "Disconnected, Down" or
 * "no stores yet". */
int tidb_pd_stores_up(const char *body, char *states_out, size_t states_len);

/* Connects as root (password from $TIDB_ROOT_PASSWORD, else empty), retrying
 * with backoff (0.5 s doubling to 5 s) until the monotonic `deadline`; prints
 * "tidb: waiting for TiDB at HOST:PORT to accept connections (why)" when the
 * reason changes. Access denied fails at once. CC_ETIMEOUT with the last error. */
int tidb_wait_ready(const char *hostport, double deadline, FILE *progress, struct tidb_conn **out,
                    char *err, size_t errlen);

/* SELECT VERSION() into out (e.g. "8.0.11-TiDB-v8.5.1" or "10.11.6-MariaDB"). */
int tidb_version(struct tidb_conn *c, char *out, size_t outlen, char *err, size_t errlen);

/* One statement of a SQL script: [off, off+len) in the script, 1-based line. */
struct sql_stmt {
    size_t off, len;
    int line;
};

/* Splits a script on ';' outside quotes ('...', "...", `...`) and comments
 * (-- , #, / * * /). Statements that hold only blanks and comments are dropped.
 * *out is malloc'd (free it); *n its length. */
void tidb_split_sql(const char *sql, size_t len, struct sql_stmt **out, size_t *n);

/* Applies a schema script: every statement in order on c. A statement failing
 * with "already exists" (1050 table, 1007 database, 1060 column, 1061 key), or
 * succeeding with such a warning (CREATE ... IF NOT EXISTS), is counted as
 * already applied; any other failure stops with
 * "NAME statement N (line L: first words): errno message". *applied and
 * *existing (may be NULL) count the two outcomes. */
int tidb_apply_schema(struct tidb_conn *c, const char *name, const char *sql, size_t len,
                      int *applied, int *existing, char *err, size_t errlen);

/* A grant from the manifest ("ALL PRIVILEGES ON shop.*", "SELECT, INSERT ON
 * shop.t") checked strictly: privilege words (letters, spaces, '_') separated by
 * commas, ON, an object db.table where each part is an identifier, `quoted
 * identifier` or '*'. CC_EINVAL with the reason otherwise. On success privs and
 * object receive the normalised parts ("ALL PRIVILEGES", "shop.*"). */
int tidb_parse_grant(const char *grant, char *privs, size_t privslen, char *object,
                     size_t objlen, char *err, size_t errlen);

/* Builds the statements that ensure a user, escaping name, host and password
 * with mysql_real_escape_string on c's handle (works unconnected, for tests):
 *   kind 0: CREATE USER IF NOT EXISTS 'n'@'h' IDENTIFIED BY 'p'
 *   kind 1: ALTER USER 'n'@'h' IDENTIFIED BY 'p'
 *   kind 2: GRANT <privs> ON <object> TO 'n'@'h'   (grant = manifest text)
 *   kind 3: SHOW GRANTS FOR 'n'@'h'
 * Returns a malloc'd statement, or NULL with err (bad grant, bad name). */
char *tidb_user_sql(struct tidb_conn *c, int kind, const char *name, const char *host,
                    const char *password, const char *grant, char *err, size_t errlen);

/* A connection handle for tidb_user_sql in unit tests (mysql_init only). */
struct tidb_conn *tidb_unconnected(void);

/* Ensures one user: create if missing, set its password (idempotent), grant
 * each manifest grant, then SHOW GRANTS to verify each is in effect. Prints one
 * progress line per user ("tidb: user shop_admin@%: created|exists, password
 * set, grants: ..."). Grants the server shows beyond the manifest's are
 * reported, not revoked. */
int tidb_ensure_user(struct tidb_conn *c, const struct tidb_user *u, const char *password,
                     FILE *progress, char *err, size_t errlen);

/* SHOW GRANTS output lines (password clauses removed) for 'name'@'host' into a
 * malloc'd "\n"-joined string. */
int tidb_show_grants(struct tidb_conn *c, const char *name, const char *host, char **out,
                     char *err, size_t errlen);

/* Replaces every occurrence of secret (and of its SQL-escaped form) in s with
 * "***", in place. No-op for NULL/empty secret. */
void tidb_scrub(char *s, const char *secret);

#endif
