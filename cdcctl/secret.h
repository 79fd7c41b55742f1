/* secret: passwords and other secrets the stack needs. A secret NAME comes from the
 * environment variable NAME when it is set and non-empty; otherwise from the file
 * <state_dir>/secrets/NAME (mode 0600); otherwise a random one is generated and kept
 * in that file. Secret values never go to argv, logs or status output. */
#ifndef CDCCTL_SECRET_H
#define CDCCTL_SECRET_H
#include <stddef.h>

enum secret_origin { SECRET_FROM_ENV, SECRET_FROM_FILE, SECRET_GENERATED };

/* The project's state directory: $CDCCTL_STATE_DIR/<project> when set, else
 * $XDG_STATE_HOME/cdcctl/<project>, else $HOME/.local/state/cdcctl/<project>.
 * malloc'd; the directory is not created here. */
char *secret_state_dir(const char *project);

/* Looks up (or generates) secret `name` (a valid environment variable name).
 * *value is malloc'd (caller frees; clear it with explicit_bzero if you like);
 * *origin says where it came from; path_out (may be NULL, PATH_MAX bytes) gets the
 * file path that holds it when origin != SECRET_FROM_ENV. Generated secrets are 24
 * characters from [A-Za-z0-9] read from /dev/urandom and written 0600 (directories
 * 0700). CC_ERR with err when the state file cannot be read or written. */
int secret_get(const char *state_dir, const char *name, char **value, enum secret_origin *origin,
               char *path_out, size_t path_len, char *err, size_t errlen);

#endif
