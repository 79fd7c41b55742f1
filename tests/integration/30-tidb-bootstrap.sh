#!/usr/bin/env bash
# The TiDB bootstrap (`cdcctl up` with an external MySQL-protocol endpoint)
# against a real MariaDB server on a free port: schema applied, re-applied
# without change, rows kept; the user logs in with its password and has exactly
# its grants; a generated password lives in a 0600 state file; a password with
# ' " \ ; works; no password in any output or in `ps`; status rows; readiness
# and schema errors are reported. No Docker daemon is involved.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/mariadb.sh"
need_cmd python3
[ -x "$CDCCTL" ] || fail "$CDCCTL not built"
mariadb_start

T=$(mktmp)
export CDCCTL_STATE_DIR=$T/state DOCKER_HOST=unix:///nonexistent
unset SHOP_ADMIN_PASSWORD TIDB_ROOT_PASSWORD
cp "$CDCCTL_ROOT/config/schema.sql" "$T/schema.sql"
cat >"$T/cdcctl.yaml" <<EOF
project: bt30
services:
  tidb:
    external: $MARIADB_ADDR
tidb:
  schema: schema.sql
  users:
    - name: shop_admin
      password_env: SHOP_ADMIN_PASSWORD
      grants: ["ALL PRIVILEGES ON shop.*"]
EOF
up() { "$CDCCTL" -f "$T/cdcctl.yaml" up "$@" >"$T/out" 2>"$T/err"; }
tables() { mariadb_root -N -e "SHOW TABLES FROM shop" | tr '\n' ' '; }
create_tables() {
    local t
    for t in customers suppliers products; do mariadb_root -N -e "SHOW CREATE TABLE shop.$t"; done
}
grants() { # SHOW GRANTS as the user, without MariaDB's password-hash clause
    mariadb_tcp shop_admin "$1" -N -e "SHOW GRANTS" | sed "s/ IDENTIFIED BY PASSWORD '[^']*'//" | sort
}
no_secret_in() { # no_secret_in SECRET FILE...
    local f
    for f in "${@:2}"; do
        grep -qF -- "$1" "$f" && { cat "$f" >&2; fail "password found in $f"; }
    done
    return 0
}

# --- first up: schema, user, generated password ---
up || { cat "$T/err" >&2; fail "first up failed"; }
assert_eq "tables after first up" "customers products suppliers " "$(tables)"
secret=$T/state/bt30/secrets/SHOP_ADMIN_PASSWORD
[ -f "$secret" ] || fail "no generated password file $secret"
assert_eq "password file mode" 600 "$(stat -c %a "$secret")"
assert_eq "secrets dir mode" 700 "$(stat -c %a "$(dirname "$secret")")"
pw=$(cat "$secret")
grep -qF "generated a password for shop_admin in $secret (set SHOP_ADMIN_PASSWORD to choose your own)" "$T/err" ||
    fail "up did not say where the generated password is: $(cat "$T/err")"
no_secret_in "$pw" "$T/out" "$T/err"
expected_grants=$(printf '%s\n' 'GRANT ALL PRIVILEGES ON `shop`.* TO `shop_admin`@`%`' \
    'GRANT USAGE ON *.* TO `shop_admin`@`%`' | sort)
assert_eq "grants of shop_admin" "$expected_grants" "$(grants "$pw")"
assert_eq "shop_admin can write shop" 1 \
    "$(mariadb_tcp shop_admin "$pw" -N -e "CREATE TABLE IF NOT EXISTS shop.probe (id INT PRIMARY KEY); DROP TABLE shop.probe; SELECT 1")"
mariadb_tcp shop_admin "$pw" -N -e "SELECT 1 FROM mysql.user LIMIT 1" >/dev/null 2>&1 &&
    fail "shop_admin can read mysql.user: grants are wider than ALL PRIVILEGES ON shop.*"

# --- rows survive a second up; nothing changes ---
mariadb_root -e "INSERT INTO shop.suppliers (id, name) VALUES (7, 'acme');
                 INSERT INTO shop.customers (id, name, email) VALUES (1, 'ann', 'ann@example.com');
                 INSERT INTO shop.products (id, name, price, stock, supplier_id) VALUES (3, 'bolt', 1.25, 10, 7)"
before=$(create_tables)
up || { cat "$T/err" >&2; fail "second up failed"; }
grep -q "tidb: applied schema.sql (4 statements, 4 already applied)" "$T/err" ||
    fail "second up did not report the schema as already applied: $(cat "$T/err")"
assert_eq "tables after second up" "customers products suppliers " "$(tables)"
assert_eq "SHOW CREATE TABLE unchanged" "$before" "$(create_tables)"
assert_eq "customer row kept" "1	ann	ann@example.com" \
    "$(mariadb_root -N -e "SELECT id, name, email FROM shop.customers")"
assert_eq "product row kept" "3	bolt	1.25	10	7" \
    "$(mariadb_root -N -e "SELECT id, name, price, stock, supplier_id FROM shop.products")"
[ "$pw" = "$(cat "$secret")" ] || fail "second up changed the password file"
assert_eq "same password still logs in" "shop_admin@%" \
    "$(mariadb_tcp shop_admin "$pw" -N -e "SELECT CURRENT_USER()")"
grep -q "user shop_admin@% exists" "$T/err" || fail "second up did not say the user exists"
assert_eq "one shop_admin account" 1 \
    "$(mariadb_root -N -e "SELECT COUNT(*) FROM mysql.user WHERE user='shop_admin'")"

# --- a password with quotes, backslash and ; from the environment ---
hard="it's a \"q\\uote\"; DROP USER root; --"
# the server is frozen for a moment so `ps` surely sees cdcctl while it runs
kill -STOP "$MARIADB_PID"
SHOP_ADMIN_PASSWORD=$hard "$CDCCTL" -f "$T/cdcctl.yaml" up >"$T/out" 2>"$T/err" &
upid=$!
: >"$T/ps"
for i in $(seq 1 15); do
    ps -eo args >>"$T/ps" 2>/dev/null
    tr '\0' ' ' </proc/"$upid"/cmdline >>"$T/ps" 2>/dev/null
    sleep 0.1
done
kill -CONT "$MARIADB_PID"
while kill -0 "$upid" 2>/dev/null; do
    ps -eo args >>"$T/ps" 2>/dev/null
    sleep 0.05
done
wait "$upid" || { cat "$T/err" >&2; fail "up with a hard password failed"; }
grep -q "cdcctl.yaml up" "$T/ps" || fail "ps never saw the running cdcctl"
no_secret_in "$hard" "$T/out" "$T/err" "$T/ps"
no_secret_in "DROP USER" "$T/out" "$T/err" "$T/ps"
assert_eq "hard password logs in" "shop_admin@%" \
    "$(mariadb_tcp shop_admin "$hard" -N -e "SELECT CURRENT_USER()")"
mariadb_tcp shop_admin "$pw" -e "SELECT 1" >/dev/null 2>&1 &&
    fail "the old generated password still works after switching to \$SHOP_ADMIN_PASSWORD"
assert_eq "root still exists" 1 "$(mariadb_root -N -e "SELECT COUNT(*) > 0 FROM mysql.user WHERE user='root'")"
assert_eq "grants unchanged" "$expected_grants" "$(grants "$hard")"
grep -q 'password for shop_admin from \$SHOP_ADMIN_PASSWORD' "$T/err" || fail "up did not say where the password came from"

# --- status rows ---
"$CDCCTL" -f "$T/cdcctl.yaml" status >"$T/out" 2>"$T/err"
rc=$?
assert_eq "status exit" 0 "$rc"
grep -Eq "^tidb +tidb +reachable +- +version 10\.[0-9]+\.[0-9]+-MariaDB" "$T/out" ||
    fail "no reachable tidb row: $(cat "$T/out")"
"$CDCCTL" -f "$T/cdcctl.yaml" status --json >"$T/json" 2>"$T/err" || fail "status --json failed"
python3 - "$T/json" <<'EOF' || fail "status --json tidb row"
import json, sys
rows = [r for r in json.load(open(sys.argv[1]))["rows"] if r["kind"] == "tidb"]
assert len(rows) == 1 and rows[0]["state"] == "reachable" and rows[0]["ok"] is True, rows
assert "MariaDB" in rows[0]["version"], rows
EOF
no_secret_in "$hard" "$T/out" "$T/json"

# --- a schema error names the statement, its line and the server's error ---
printf 'CREATE DATABASE IF NOT EXISTS shop;\n\nCREATE TABLE IF NOT EXISTS shop.bad (id INT PRIMARY KEY,\n  x NOSUCHTYPE);\n' >"$T/schema.sql"
up && fail "up with a broken schema succeeded"
grep -qF "cdcctl: up: tidb: schema.sql statement 2 (line 3: CREATE TABLE IF NOT EXISTS shop.bad (id INT PRIMARY KEY, x N...): 4161 Unknown data type: 'NOSUCHTYPE'" "$T/err" ||
    fail "schema error not reported with statement, line and errno: $(cat "$T/err")"
cp "$CDCCTL_ROOT/config/schema.sql" "$T/schema.sql"

# --- nothing listening: waits with a deadline, says what it waits for ---
dead=$(free_port)
sed "s/external: $MARIADB_ADDR/external: 127.0.0.1:$dead/" "$T/cdcctl.yaml" >"$T/dead.yaml"
start=$(date +%s)
"$CDCCTL" -f "$T/dead.yaml" up --timeout 3 >"$T/out" 2>"$T/err" && fail "up against nothing succeeded"
[ $(($(date +%s) - start)) -le 20 ] || fail "up did not respect --timeout"
grep -q "tidb: waiting for TiDB at 127.0.0.1:$dead to accept connections (2002 " "$T/err" ||
    grep -q "tidb: waiting for TiDB at 127.0.0.1:$dead to accept connections (2003 " "$T/err" ||
    fail "no waiting message: $(cat "$T/err")"
grep -q "cdcctl: up: tidb: TiDB at 127.0.0.1:$dead not ready: " "$T/err" || fail "no timeout error: $(cat "$T/err")"
"$CDCCTL" -f "$T/dead.yaml" status >"$T/out" 2>"$T/err"
assert_eq "status exit with TiDB down" 3 "$?"
grep -Eq "^tidb +tidb +unreachable +- +127\.0\.0\.1:$dead: " "$T/out" || fail "no unreachable row: $(cat "$T/out")"
echo "30-tidb-bootstrap: ok"
