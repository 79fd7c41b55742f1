#include "secret.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

char *secret_state_dir(const char *project)
{
    struct strbuf sb = {0};
    const char *v;
    if ((v = getenv("CDCCTL_STATE_DIR")) && *v)
        strbuf_addf(&sb, "%s/%s", v, project);
    else if ((v = getenv("XDG_STATE_HOME")) && *v)
        strbuf_addf(&sb, "%s/cdcctl/%s", v, project);
    else
        strbuf_addf(&sb, "%s/.local/state/cdcctl/%s", (v = getenv("HOME")) && *v ? v : "/tmp",
                    project);
    return strbuf_detach(&sb);
}

static int generate(char *out, size_t n, char *err, size_t errlen)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char raw[64];
    FILE *f = fopen("/dev/urandom", "rb");
    if (!f || fread(raw, 1, n, f) != n) {
        if (f)
            fclose(f);
        return cc_errf(err, errlen, CC_ERR, "cannot read /dev/urandom: %s", strerror(errno));
    }
    fclose(f);
    for (size_t i = 0; i < n; i++)
        out[i] = alphabet[raw[i] % (sizeof alphabet - 1)]; /* 256 % 62 bias is negligible here */
    out[n] = '\0';
    return CC_OK;
}

int secret_get(const char *state_dir, const char *name, char **value, enum secret_origin *origin,
               char *path_out, size_t path_len, char *err, size_t errlen)
{
    const char *env = getenv(name);
    if (env && *env) {
        *value = xstrdup(env);
        *origin = SECRET_FROM_ENV;
        return CC_OK;
    }
    struct strbuf path = {0};
    strbuf_addf(&path, "%s/secrets/%s", state_dir, name);
    if (path_out)
        snprintf(path_out, path_len, "%s", path.buf);
    char *data = NULL;
    size_t len = 0;
    int rc = read_file(path.buf, &data, &len, err, errlen);
    if (rc == CC_OK) {
        while (len && (data[len - 1] == '\n' || data[len - 1] == '\r'))
            data[--len] = '\0';
        *value = data;
        *origin = SECRET_FROM_FILE;
        goto out;
    }
    if (rc != CC_ENOTFOUND)
        goto out;
    char fresh[25];
    if ((rc = generate(fresh, 24, err, errlen)) != CC_OK)
        goto out;
    if ((rc = write_file_atomic(path.buf, fresh, 24, 0600, err, errlen)) != CC_OK)
        goto out;
    *value = xstrdup(fresh);
    *origin = SECRET_GENERATED;
out:
    strbuf_release(&path);
    return rc;
}
