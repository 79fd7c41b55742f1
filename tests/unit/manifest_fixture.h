/* Shared by the manifest unit tests: where the fixtures are, and the check that a
 * manifest text fails with exactly one error message. Include after <cmocka.h>. */
#ifndef CDCCTL_TEST_MANIFEST_FIXTURE_H
#define CDCCTL_TEST_MANIFEST_FIXTURE_H
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "manifest.h"
#include "util.h"

/* The smallest valid manifest with service `a`; lines appended start at line 5
 * (service keys indented by 4 spaces). */
#define HEAD "project: p\nservices:\n  a:\n    image: x\n"

static char data_dir[1024]; /* absolute tests/data/manifests */

/* Fills data_dir from $CDCCTL_ROOT or the current directory; -1 (with a message
 * naming `test`) when the fixtures are not there. */
__attribute__((unused)) static int manifest_fixture_setup(const char *test)
{
    const char *root = getenv("CDCCTL_ROOT");
    char cwd[PATH_MAX];
    if (!root) {
        if (!getcwd(cwd, sizeof cwd))
            return -1;
        root = cwd;
    }
    if (strlen(root) > 900)
        return -1;
    snprintf(data_dir, sizeof data_dir, "%.900s/tests/data/manifests", root);
    if (access(data_dir, R_OK) != 0) {
        fprintf(stderr, "%s: %s missing (run from the repository root)\n", test, data_dir);
        return -1;
    }
    return 0;
}

/* Parsing text (as "t.yaml") with src must fail with exactly `want` and return no
 * manifest. */
__attribute__((unused)) static void manifest_expect_error(const struct manifest_source *src,
                                                          const char *text, const char *want)
{
    struct manifest *m = (struct manifest *)1;
    char err[ERRLEN] = "";
    int rc = manifest_parse(text, strlen(text), "t.yaml", data_dir, src, &m, err, sizeof err);
    if (rc != CC_EINVAL)
        fail_msg("expected CC_EINVAL, got %d (%s)\n--\n%s", rc, err, text);
    assert_null(m);
    if (strcmp(err, want) != 0)
        fail_msg("wrong error\n want: %s\n  got: %s\n--\n%s", want, err, text);
}

#endif
