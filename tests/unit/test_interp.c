/* Unit tests: ${VAR} interpolation (compose semantics), shell-word splitting,
 * durations and path joining used by the manifest module. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "manifest.h"
#include "manifest_priv.h"

/* A fixed environment: SET=value, EMPTY="", NESTED=${SET} (not re-expanded), DOLLAR=$x */
static const char *fake_env(const char *name, void *ctx)
{
    (void)ctx;
    static const char *const env[][2] = {
        {"SET", "value"}, {"EMPTY", ""}, {"NESTED", "${SET}"}, {"DOLLAR", "$x"},
        {"_U9", "u"},     {"PORT", "8080"},
    };
    for (size_t i = 0; i < sizeof env / sizeof *env; i++)
        if (!strcmp(env[i][0], name))
            return env[i][1];
    return NULL;
}

static const struct manifest_source SRC = {.getenv_fn = fake_env};

static void expect_interp(const char *in, const char *want)
{
    char err[ERRLEN] = "";
    char *got = manifest_interpolate(in, &SRC, err, sizeof err);
    if (!got)
        fail_msg("interpolating \"%s\" failed: %s", in, err);
    assert_string_equal(got, want);
    free(got);
}

static void expect_interp_error(const char *in, const char *want_err)
{
    char err[ERRLEN] = "";
    char *got = manifest_interpolate(in, &SRC, err, sizeof err);
    if (got)
        fail_msg("interpolating \"%s\" should fail, got \"%s\"", in, got);
    assert_string_equal(err, want_err);
}

static void test_plain_text(void **state)
{
    (void)state;
    expect_interp("", "");
    expect_interp("no variables here", "no variables here");
    expect_interp("unicode: åäö", "unicode: åäö");
}

static void test_simple_forms(void **state)
{
    (void)state;
    expect_interp("$SET", "value");
    expect_interp("${SET}", "value");
    expect_interp("a${SET}b", "avalueb");
    expect_interp("$SET-suffix", "value-suffix");   /* - ends the name */
    expect_interp("$SET.x", "value.x");
    expect_interp("${_U9}$_U9", "uu");
    expect_interp("$UNSET", "");
    expect_interp("${UNSET}", "");
    expect_interp("x${EMPTY}y", "xy");
    expect_interp("127.0.0.1:${PORT}:80", "127.0.0.1:8080:80");
}

static void test_values_not_reexpanded(void **state)
{
    (void)state;
    expect_interp("${NESTED}", "${SET}");
    expect_interp("$DOLLAR", "$x");
}

static void test_escape(void **state)
{
    (void)state;
    expect_interp("$$", "$");
    expect_interp("$$SET", "$SET");
    expect_interp("price: $$5", "price: $5");
    expect_interp("$$$SET", "$value");
    expect_interp("$${SET}", "${SET}");
}

static void test_defaults(void **state)
{
    (void)state;
    expect_interp("${UNSET:-d}", "d");
    expect_interp("${EMPTY:-d}", "d");
    expect_interp("${SET:-d}", "value");
    expect_interp("${UNSET-d}", "d");
    expect_interp("${EMPTY-d}", "");
    expect_interp("${SET-d}", "value");
    expect_interp("${UNSET:-}", "");
    expect_interp("${UNSET:-a b:c}", "a b:c");
    expect_interp("${UNSET:-${SET}}", "value");
    expect_interp("${UNSET:-${ALSO_UNSET:-deep}}", "deep");
    expect_interp("${UNSET:-$$}", "$");
    expect_interp("${UNSET:-x}${SET:-y}", "xvalue");
}

static void test_alternatives(void **state)
{
    (void)state;
    expect_interp("${SET:+alt}", "alt");
    expect_interp("${EMPTY:+alt}", "");
    expect_interp("${UNSET:+alt}", "");
    expect_interp("${EMPTY+alt}", "alt");
    expect_interp("${UNSET+alt}", "");
}

static void test_required(void **state)
{
    (void)state;
    expect_interp("${SET:?must be set}", "value");
    expect_interp("${EMPTY?only unset fails}", "");
    expect_interp_error("${UNSET:?set it in .env}", "required variable UNSET is missing: set it in .env");
    expect_interp_error("${EMPTY:?no empty}", "required variable EMPTY is missing: no empty");
    expect_interp_error("${UNSET?gone}", "required variable UNSET is missing: gone");
    expect_interp_error("${UNSET:?}", "required variable UNSET is missing a value");
    expect_interp_error("a ${UNSET?} b", "required variable UNSET is missing a value");
}

static void test_invalid(void **state)
{
    (void)state;
    expect_interp_error("$", "invalid interpolation \"$\": expected a variable name after $ (write $$ for a literal $)");
    expect_interp_error("cost 5$", "invalid interpolation \"$\": expected a variable name after $ (write $$ for a literal $)");
    expect_interp_error("$1", "invalid interpolation \"$1\": expected a variable name after $ (write $$ for a literal $)");
    expect_interp_error("${", "invalid interpolation \"${\": expected a variable name after ${ (write $$ for a literal $)");
    expect_interp_error("${}", "invalid interpolation \"${}\": empty variable name (write $$ for a literal $)");
    expect_interp_error("${SET", "invalid interpolation \"${SET\": missing closing } (write $$ for a literal $)");
    expect_interp_error("${SET:-x", "invalid interpolation \"${SET:-x\": missing closing } (write $$ for a literal $)");
    expect_interp_error("${SET x}", "invalid interpolation \"${SET x}\": unexpected character after the variable name (write $$ for a literal $)");
    expect_interp_error("${1A}", "invalid interpolation \"${1A}\": expected a variable name after ${ (write $$ for a literal $)");
    /* an error inside a used default is reported */
    expect_interp_error("${UNSET:-${X:?inner}}", "required variable X is missing: inner");
}

static void test_getenv_default(void **state)
{
    (void)state;
    char err[ERRLEN];
    setenv("CDCCTL_TEST_INTERP", "from-process", 1);
    char *got = manifest_interpolate("${CDCCTL_TEST_INTERP}", NULL, err, sizeof err);
    assert_non_null(got);
    assert_string_equal(got, "from-process");
    free(got);
    unsetenv("CDCCTL_TEST_INTERP");
}

static void expect_split(const char *in, size_t n, ...)
{
    struct strlist l = {0};
    char err[128];
    if (shell_split(in, &l, err, sizeof err) != CC_OK)
        fail_msg("splitting \"%s\" failed: %s", in, err);
    assert_int_equal(l.n, n);
    va_list ap;
    va_start(ap, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(l.items[i], va_arg(ap, const char *));
    va_end(ap);
    strlist_free(&l);
}

static void test_shell_split(void **state)
{
    (void)state;
    expect_split("", 0);
    expect_split("   ", 0);
    expect_split("a", 1, "a");
    expect_split("  a  b\tc\n d ", 4, "a", "b", "c", "d");
    expect_split("sh -c 'echo hi; exit 1'", 3, "sh", "-c", "echo hi; exit 1");
    expect_split("echo \"a \\\"b\\\" $X \\n\"", 2, "echo", "a \"b\" $X \\n");
    expect_split("a\\ b c", 2, "a b", "c");
    expect_split("'' \"\" x", 3, "", "", "x");
    expect_split("pre'mid dle'post", 1, "premid dlepost");
    expect_split("'it'\\''s'", 1, "it's");
    expect_split("a\\\nb", 1, "ab");

    struct strlist l = {0};
    char err[128];
    assert_int_equal(shell_split("echo 'open", &l, err, sizeof err), CC_EINVAL);
    assert_string_equal(err, "unterminated single quote");
    strlist_free(&l);
    assert_int_equal(shell_split("echo \"open", &l, err, sizeof err), CC_EINVAL);
    assert_string_equal(err, "unterminated double quote");
    strlist_free(&l);
    assert_int_equal(shell_split("echo \\", &l, err, sizeof err), CC_EINVAL);
    assert_string_equal(err, "trailing backslash");
    strlist_free(&l);
}

static void test_durations(void **state)
{
    (void)state;
    int64_t ns;
    char buf[64];
    static const struct {
        const char *in;
        int64_t ns;
        const char *out;
    } ok[] = {
        {"0", 0, "0s"},
        {"10s", 10000000000LL, "10s"},
        {"1m30s", 90000000000LL, "1m30s"},
        {"500ms", 500000000LL, "500ms"},
        {"1h", 3600000000000LL, "1h"},
        {"1.5s", 1500000000LL, "1s500ms"},
        {"2h45m", 9900000000000LL, "2h45m"},
        {"100us", 100000LL, "100us"},
        {"100\xc2\xb5s", 100000LL, "100us"},
        {"7ns", 7, "7ns"},
        {"90s", 90000000000LL, "1m30s"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        if (parse_duration(ok[i].in, &ns) != CC_OK)
            fail_msg("duration \"%s\" rejected", ok[i].in);
        assert_int_equal(ns, ok[i].ns);
        format_duration(ns, buf, sizeof buf);
        assert_string_equal(buf, ok[i].out);
        int64_t again;
        assert_int_equal(parse_duration(buf, &again), CC_OK);
        assert_int_equal(again, ns);
    }
    static const char *const bad[] = {"", "10", "s", "-1s", "1x", "1.s5", "1 s", "1d", ".s"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (parse_duration(bad[i], &ns) == CC_OK)
            fail_msg("duration \"%s\" accepted", bad[i]);
}

static void test_path_join(void **state)
{
    (void)state;
    static const char *const cases[][3] = {
        {"/a/b", "c", "/a/b/c"},         {"/a/b", "./c/./d", "/a/b/c/d"},
        {"/a/b", "../c", "/a/c"},        {"/a/b", "../../../c", "/c"},
        {"/a/b", "/abs//x/", "/abs/x"},  {"/a", ".", "/a"},
        {"/", "..", "/"},                {NULL, "/x/../y", "/y"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *p = mpath_join(cases[i][0], cases[i][1]);
        assert_non_null(p);
        assert_string_equal(p, cases[i][2]);
        free(p);
    }
    assert_null(mpath_join(NULL, "relative"));
}

static void test_hostport(void **state)
{
    (void)state;
    assert_true(valid_hostport("kafka:9092", 1));
    assert_true(valid_hostport("127.0.0.1:0", 0));
    assert_true(valid_hostport("[::1]:8000", 1));
    assert_false(valid_hostport("127.0.0.1:0", 1));
    assert_false(valid_hostport("kafka", 1));
    assert_false(valid_hostport(":9092", 1));
    assert_false(valid_hostport("kafka:", 1));
    assert_false(valid_hostport("kafka:99999", 1));
    assert_false(valid_hostport("kafka:90a", 1));
    assert_false(valid_hostport("::1:80", 1));
    assert_false(valid_hostport("a b:80", 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_text),
        cmocka_unit_test(test_simple_forms),
        cmocka_unit_test(test_values_not_reexpanded),
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_alternatives),
        cmocka_unit_test(test_required),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_getenv_default),
        cmocka_unit_test(test_shell_split),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_path_join),
        cmocka_unit_test(test_hostport),
    };
    return cmocka_run_group_tests_name("interp", tests, NULL, NULL);
}
